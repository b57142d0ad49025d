// The whole cover flow through openapi-fetch, typed by the types openapi-typescript generates
// from /openapi.json (scripts/check-openapi writes them to generated/openapi.d.ts and
// type-checks this file against them): create a collection, upload a cover with the
// handle's form, wait until it is applied, read the colors, the blurhash and the rendition
// URLs. Only the upload to the store is plain fetch: it is the store's form, not the API.
//
//   API_URL=http://127.0.0.1:8080 API_KEY=… COVER_IMAGE=cover.jpg node build/flow.js

import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import createClient from "openapi-fetch";
import type { paths } from "./generated/openapi.js";

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const api = createClient<paths>({
  baseUrl: env("API_URL"),
  headers: { Authorization: `Bearer ${env("API_KEY")}` },
});
const image = env("COVER_IMAGE");

const created = await api.POST("/v1/collection", { body: { title: "From TypeScript" } });
if (!created.data) throw new Error(`create_collection: ${JSON.stringify(created.error)}`);
const handle = created.data.collection_cover_upload;
if (!handle) throw new Error("no cover upload handle");

const form = new FormData();
for (const [name, value] of Object.entries(handle.fields)) form.append(name, value);
form.append("Content-Type", "image/jpeg");
const bytes = await readFile(image);
form.append(handle.file_field, new Blob([bytes], { type: "image/jpeg" }), basename(image));
const stored = await fetch(handle.upload_url, { method: handle.method, body: form });
if (!stored.ok) throw new Error(`the store refused the upload: ${stored.status} ${await stored.text()}`);

const deadline = Date.now() + 60_000;
for (;;) {
  const answer = await api.GET("/v1/cover_upload/{cover_upload_id}", {
    params: { path: { cover_upload_id: handle.id } },
  });
  if (!answer.data) throw new Error(`get_cover_upload: ${JSON.stringify(answer.error)}`);
  const { status, error } = answer.data.cover_upload;
  if (status === "applied") break;
  if (status !== "pending" && status !== "processing") throw new Error(`upload ended ${status}: ${error}`);
  if (Date.now() > deadline) throw new Error(`still ${status} after 60 s`);
  await new Promise((resolve) => setTimeout(resolve, 500));
}

const answer = await api.GET("/v1/collection/{collection_id}", {
  params: { path: { collection_id: created.data.collection_id } },
});
if (!answer.data) throw new Error(`get_collection: ${JSON.stringify(answer.error)}`);
const collection = answer.data.collection;
if (!collection.player_color || !collection.image_colors?.length) throw new Error("no colors");
if (!collection.blurhash) throw new Error("no blurhash");
const cover = collection.cover_image;
if (!cover) throw new Error("no cover_image");
const urls = { icon: cover.icon.url, small: cover.small.url, regular: cover.regular.url, large: cover.large.url };
for (const [size, url] of Object.entries(urls)) {
  const served = await fetch(url);
  if (served.status !== 200 || (await served.arrayBuffer()).byteLength === 0) {
    throw new Error(`${size}: ${url} answered ${served.status}`);
  }
}
const owner = await api.GET("/v1/organization/{organization_id}", {
  params: { path: { organization_id: collection.organization_id } },
});
if (owner.data?.organization.id !== collection.organization_id) {
  throw new Error(`get_organization: ${JSON.stringify(owner.error ?? owner.data)}`);
}
console.log(
  JSON.stringify({ client: "typescript", player_color: collection.player_color, blurhash: collection.blurhash, cover_image: urls }),
);

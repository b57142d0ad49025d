"""The whole cover flow through the Python client openapi-python-client generates from
/openapi.json (scripts/check-openapi writes it to .dev/clients/python): create a collection,
upload a cover with the handle's form, wait until it is applied, read the colors, the
blurhash and the rendition URLs, and the organization the collection falls back to. Only the upload to the store is plain HTTP: it is the
store's form, not the API.

    API_URL=http://127.0.0.1:8080 API_KEY=… COVER_IMAGE=cover.jpg \
        .dev/openapi-venv/bin/python scripts/clients/flow.py
"""

import json
import os
import sys
import time
from pathlib import Path

import httpx

root = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(root / ".dev/clients/python"))

from cover_color_pipeline_api_client import AuthenticatedClient  # noqa: E402
from cover_color_pipeline_api_client.api.collections import (  # noqa: E402
    create_collection,
    get_collection,
)
from cover_color_pipeline_api_client.api.covers import get_cover_upload  # noqa: E402
from cover_color_pipeline_api_client.api.organizations import get_organization  # noqa: E402
from cover_color_pipeline_api_client.models import (  # noqa: E402
    EnvelopeCollectionBody,
    EnvelopeCollectionWithCover,
    EnvelopeCoverUploadBody,
    EnvelopeOrganizationBody,
    NewCollection,
)


def main() -> None:
    image = Path(os.environ["COVER_IMAGE"])
    client = AuthenticatedClient(base_url=os.environ["API_URL"], token=os.environ["API_KEY"])

    created = create_collection.sync(client=client, body=NewCollection(title="From Python"))
    assert isinstance(created, EnvelopeCollectionWithCover), created
    handle = created.collection_cover_upload
    assert handle is not None, "no cover upload handle: the organization refuses collection covers"

    form = dict(handle.fields.additional_properties)
    form["Content-Type"] = "image/jpeg"
    files = {handle.file_field: (image.name, image.read_bytes(), "image/jpeg")}
    stored = httpx.request(handle.method, handle.upload_url, data=form, files=files)
    assert stored.is_success, f"the store refused the upload: {stored.status_code} {stored.text}"

    deadline = time.monotonic() + 60
    while True:
        answer = get_cover_upload.sync(client=client, cover_upload_id=handle.id)
        assert isinstance(answer, EnvelopeCoverUploadBody), answer
        status = answer.cover_upload.status
        if status == "applied":
            break
        assert status in ("pending", "processing"), f"upload ended {status}: {answer.cover_upload.error}"
        assert time.monotonic() < deadline, f"still {status} after 60 s"
        time.sleep(0.5)

    answer = get_collection.sync(client=client, collection_id=created.collection_id)
    assert isinstance(answer, EnvelopeCollectionBody), answer
    collection = answer.collection
    assert collection.player_color and len(collection.image_colors) > 0, collection
    assert collection.blurhash, collection
    urls = {size: getattr(collection.cover_image, size).url for size in ("icon", "small", "regular", "large")}
    for size, url in urls.items():
        served = httpx.get(url)
        assert served.status_code == 200 and served.content, f"{size}: {url} answered {served.status_code}"
    owner = get_organization.sync(client=client, organization_id=collection.organization_id)
    assert isinstance(owner, EnvelopeOrganizationBody), owner
    assert owner.organization.id == collection.organization_id, owner
    print(json.dumps({
        "client": "python",
        "player_color": collection.player_color,
        "blurhash": collection.blurhash,
        "cover_image": urls,
    }))


if __name__ == "__main__":
    main()

//! Which properties a response schema requires. Responses carry every field of their views,
//! null when it has no value (no view skips one), but utoipa marks an `Option` field as not
//! required, so generated clients would type it "may be absent" (`Unset` in Python) on top of
//! nullable. Every property of a schema that only responses use is therefore required; the
//! request bodies, where an absent field means "unchanged" or "default", keep theirs.

use std::collections::BTreeSet;

use utoipa::Modify;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{OpenApi, RefOr};

use super::operations;

/// Requires every property of the schemas no request body refers to.
pub(super) struct ResponsesCarryEveryField;

impl Modify for ResponsesCarryEveryField {
    fn modify(&self, openapi: &mut OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let mut requested = BTreeSet::new();
        let mut pending: Vec<serde_json::Value> = Vec::new();
        for path in openapi.paths.paths.values_mut() {
            for operation in operations(path) {
                pending.extend(operation.request_body.iter().map(json));
            }
        }
        // Follow the references from the request bodies through the components.
        while let Some(schema) = pending.pop() {
            for name in schema_refs(&schema) {
                if requested.insert(name.clone()) {
                    pending.push(json(&components.schemas.get(&name)));
                }
            }
        }
        for (name, schema) in components.schemas.iter_mut() {
            if !requested.contains(name) {
                require_every_property(schema);
            }
        }
    }
}

fn json(value: &impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(value).expect("a schema serializes")
}

/// The component schemas `schema` refers to, at any depth.
fn schema_refs(schema: &serde_json::Value) -> Vec<String> {
    match schema {
        serde_json::Value::Object(map) => map
            .iter()
            .flat_map(|(key, value)| match (key.as_str(), value.as_str()) {
                ("$ref", Some(target)) => target
                    .strip_prefix("#/components/schemas/")
                    .map(str::to_owned)
                    .into_iter()
                    .collect(),
                _ => schema_refs(value),
            })
            .collect(),
        serde_json::Value::Array(items) => items.iter().flat_map(schema_refs).collect(),
        _ => Vec::new(),
    }
}

/// Requires the properties of `schema` and of the inline parts of an `allOf` (a view's own
/// fields beside the flattened ones).
fn require_every_property(schema: &mut RefOr<Schema>) {
    match schema {
        RefOr::T(Schema::Object(object)) => {
            object.required = object.properties.keys().cloned().collect();
        }
        RefOr::T(Schema::AllOf(all_of)) => all_of.items.iter_mut().for_each(require_every_property),
        _ => {}
    }
}

//! The exchange MinIO publishes to is declared in three places that RabbitMQ compares on
//! every publish: MinIO's AMQP target (docker-compose.yml), the definitions RabbitMQ boots
//! with (deploy/rabbitmq/definitions.json) and the worker's own declaration
//! (`common::events`). One differing flag makes RabbitMQ refuse every event with 406
//! PRECONDITION_FAILED, so this test reads all three and fails on any disagreement.

use std::path::Path;

use common::events;
use serde_json::Value as Json;
use yaml_rust2::{Yaml, YamlLoader};

/// What RabbitMQ compares when an exchange is re-declared, plus where events are routed.
#[derive(Debug, PartialEq, Eq)]
struct Topology {
    exchange: String,
    kind: String,
    durable: bool,
    auto_delete: bool,
    internal: bool,
    routing_key: String,
}

fn repo_file(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn worker_constants() -> Topology {
    Topology {
        exchange: events::EXCHANGE.to_owned(),
        kind: events::EXCHANGE_KIND.to_owned(),
        durable: events::EXCHANGE_DURABLE,
        auto_delete: events::EXCHANGE_AUTO_DELETE,
        internal: events::EXCHANGE_INTERNAL,
        routing_key: events::ROUTING_KEY.to_owned(),
    }
}

fn compose() -> Yaml {
    YamlLoader::load_from_str(&repo_file("docker-compose.yml"))
        .expect("docker-compose.yml is YAML")
        .swap_remove(0)
}

/// A string-valued environment entry of a compose mapping, e.g. `MINIO_NOTIFY_AMQP_URL_X`.
fn env_str<'a>(env: &'a Yaml, key: &str) -> &'a str {
    env[key]
        .as_str()
        .unwrap_or_else(|| panic!("docker-compose.yml: {key} missing or not a string"))
}

/// MinIO's `on`/`off` switches.
fn env_switch(env: &Yaml, key: &str) -> bool {
    match env_str(env, key) {
        "on" => true,
        "off" => false,
        other => panic!("docker-compose.yml: {key} is {other:?}, expected \"on\" or \"off\""),
    }
}

/// MinIO's AMQP target as configured by `MINIO_NOTIFY_AMQP_*_<ID>` on the minio service.
fn minio_target(compose: &Yaml) -> Topology {
    let env = &compose["services"]["minio"]["environment"];
    let hash = env
        .as_hash()
        .expect("services.minio.environment is a mapping");
    let ids: Vec<&str> = hash
        .keys()
        .filter_map(|key| key.as_str()?.strip_prefix("MINIO_NOTIFY_AMQP_ENABLE_"))
        .collect();
    let [id] = ids[..] else {
        panic!("expected exactly one MinIO AMQP target, found {ids:?}");
    };
    assert!(env_switch(env, &format!("MINIO_NOTIFY_AMQP_ENABLE_{id}")));
    let var = |name: &str| format!("MINIO_NOTIFY_AMQP_{name}_{id}");
    Topology {
        exchange: env_str(env, &var("EXCHANGE")).to_owned(),
        kind: env_str(env, &var("EXCHANGE_TYPE")).to_owned(),
        durable: env_switch(env, &var("DURABLE")),
        auto_delete: env_switch(env, &var("AUTO_DELETED")),
        internal: env_switch(env, &var("INTERNAL")),
        routing_key: env_str(env, &var("ROUTING_KEY")).to_owned(),
    }
}

fn definitions() -> Json {
    serde_json::from_str(&repo_file("deploy/rabbitmq/definitions.json"))
        .expect("definitions.json is JSON")
}

fn named<'a>(definitions: &'a Json, section: &str, name: &str) -> &'a Json {
    definitions[section]
        .as_array()
        .unwrap_or_else(|| panic!("definitions.json: no {section} array"))
        .iter()
        .find(|item| item["name"] == name)
        .unwrap_or_else(|| panic!("definitions.json: no {section} entry named {name:?}"))
}

/// The exchange as RabbitMQ declares it at boot, routed to the work queue by its binding.
fn definitions_exchange(definitions: &Json) -> Topology {
    let exchange = named(definitions, "exchanges", events::EXCHANGE);
    let arguments = exchange["arguments"].as_object();
    assert!(
        arguments.is_none_or(|arguments| arguments.is_empty()),
        "definitions.json: {} must have no arguments (MinIO declares none)",
        events::EXCHANGE
    );
    let flag = |key: &str| {
        exchange[key]
            .as_bool()
            .unwrap_or_else(|| panic!("definitions.json: exchange flag {key} missing"))
    };
    let binding = definitions["bindings"]
        .as_array()
        .expect("definitions.json: no bindings array")
        .iter()
        .find(|b| b["source"] == events::EXCHANGE && b["destination"] == events::QUEUE)
        .unwrap_or_else(|| {
            panic!(
                "definitions.json: {} is not bound to {}",
                events::EXCHANGE,
                events::QUEUE
            )
        });
    Topology {
        exchange: events::EXCHANGE.to_owned(),
        kind: exchange["type"].as_str().unwrap_or_default().to_owned(),
        durable: flag("durable"),
        auto_delete: flag("auto_delete"),
        internal: flag("internal"),
        routing_key: binding["routing_key"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    }
}

#[test]
fn minio_target_and_rabbitmq_definitions_declare_the_workers_exchange() {
    let expected = worker_constants();
    assert_eq!(
        minio_target(&compose()),
        expected,
        "docker-compose.yml's MinIO AMQP target differs from common::events"
    );
    assert_eq!(
        definitions_exchange(&definitions()),
        expected,
        "deploy/rabbitmq/definitions.json differs from common::events"
    );
}

#[test]
fn compose_services_use_the_workers_exchange_routing_key_and_queue() {
    let compose = compose();
    let env = &compose["x-app-environment"];
    assert_eq!(env_str(env, "APP__AMQP__EXCHANGE"), events::EXCHANGE);
    assert_eq!(env_str(env, "APP__AMQP__ROUTING_KEY"), events::ROUTING_KEY);
    assert_eq!(env_str(env, "APP__AMQP__QUEUE"), events::QUEUE);
}

#[test]
fn definitions_declare_the_work_and_dead_letter_queues_as_the_worker_does() {
    // RabbitMQ refuses a re-declaration whose arguments differ (406), so the worker's
    // declaration (color-worker/src/topology.rs) must find exactly these.
    let definitions = definitions();
    let dead_letter_exchange = events::dead_letter_exchange(events::QUEUE);
    let dead_letter_queue = events::dead_letter_queue(events::QUEUE);
    let work = named(&definitions, "queues", events::QUEUE);
    assert_eq!(
        work["arguments"],
        serde_json::json!({
            "x-queue-type": "quorum",
            "x-delivery-limit": events::DELIVERY_LIMIT,
            "x-dead-letter-exchange": dead_letter_exchange,
        })
    );
    let dead = named(&definitions, "queues", &dead_letter_queue);
    assert_eq!(
        dead["arguments"],
        serde_json::json!({"x-queue-type": "quorum"})
    );
    let dlx = named(&definitions, "exchanges", &dead_letter_exchange);
    assert_eq!(dlx["type"], "fanout");
    assert_eq!(dlx["durable"], true);
    let bound = definitions["bindings"].as_array().unwrap().iter().any(|b| {
        b["source"] == dead_letter_exchange.as_str()
            && b["destination"] == dead_letter_queue.as_str()
    });
    assert!(
        bound,
        "definitions.json: {dead_letter_queue} is not bound to {dead_letter_exchange}"
    );
}

#[test]
fn local_cluster_minio_notifies_exactly_like_compose_minio() {
    // deploy/overlays/local runs its own MinIO; its AMQP target must not drift from the one
    // checked above.
    let notify_settings = |pairs: Vec<(String, String)>| -> Vec<(String, String)> {
        let mut pairs: Vec<_> = pairs
            .into_iter()
            .filter(|(name, _)| name.starts_with("MINIO_NOTIFY_") || name.starts_with("MINIO_API_"))
            .collect();
        pairs.sort();
        pairs
    };
    let compose = compose();
    let compose_env = compose["services"]["minio"]["environment"]
        .as_hash()
        .unwrap();
    let from_compose = notify_settings(
        compose_env
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().unwrap().to_owned(),
                    v.as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
    );
    let manifests = YamlLoader::load_from_str(&repo_file("deploy/overlays/local/minio-dev.yaml"))
        .expect("minio-dev.yaml is YAML");
    let deployment = manifests
        .iter()
        .find(|doc| doc["kind"].as_str() == Some("Deployment"))
        .expect("minio-dev.yaml has a Deployment");
    let container_env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_vec()
        .expect("minio container has an env list");
    let from_cluster = notify_settings(
        container_env
            .iter()
            .map(|e| {
                (
                    e["name"].as_str().unwrap().to_owned(),
                    e["value"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
    );
    assert!(!from_compose.is_empty());
    assert_eq!(from_cluster, from_compose);
}

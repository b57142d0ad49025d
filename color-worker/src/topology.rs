//! Declares the RabbitMQ topology of DESIGN §3, idempotently, every time the worker
//! connects: MinIO's exchange (flags exactly as MinIO declares them), the quorum work queue
//! with its delivery limit, and the dead-letter exchange and queue.

use common::events;
use common::settings::AmqpSettings;
use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{Channel, ExchangeKind};

pub async fn declare(channel: &Channel, amqp: &AmqpSettings) -> Result<(), lapin::Error> {
    let durable = ExchangeDeclareOptions {
        durable: events::EXCHANGE_DURABLE,
        auto_delete: events::EXCHANGE_AUTO_DELETE,
        internal: events::EXCHANGE_INTERNAL,
        ..ExchangeDeclareOptions::default()
    };
    // MinIO re-declares this exchange on every publish: same kind, flags and (no) arguments,
    // or every publish fails with 406 PRECONDITION_FAILED.
    channel
        .exchange_declare(
            &amqp.exchange,
            ExchangeKind::Custom(events::EXCHANGE_KIND.to_owned()),
            durable,
            FieldTable::default(),
        )
        .await?;

    let dead_letter_exchange = events::dead_letter_exchange(&amqp.queue);
    let dead_letter_queue = events::dead_letter_queue(&amqp.queue);
    channel
        .exchange_declare(
            &dead_letter_exchange,
            ExchangeKind::Fanout,
            durable,
            FieldTable::default(),
        )
        .await?;
    let quorum = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(&dead_letter_queue, quorum, quorum_arguments(None))
        .await?;
    channel
        .queue_bind(
            &dead_letter_queue,
            &dead_letter_exchange,
            "",
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;

    channel
        .queue_declare(
            &amqp.queue,
            quorum,
            quorum_arguments(Some(&dead_letter_exchange)),
        )
        .await?;
    channel
        .queue_bind(
            &amqp.queue,
            &amqp.exchange,
            &amqp.routing_key,
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok(())
}

/// Quorum queues replicate messages and count deliveries, which gives the delivery limit.
/// These must equal the arguments in deploy/rabbitmq/definitions.json, or RabbitMQ refuses
/// the worker's re-declaration with 406.
fn quorum_arguments(dead_letter_exchange: Option<&str>) -> FieldTable {
    let mut arguments = FieldTable::default();
    arguments.insert("x-queue-type".into(), long_string("quorum"));
    if let Some(exchange) = dead_letter_exchange {
        arguments.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongLongInt(events::DELIVERY_LIMIT.into()),
        );
        arguments.insert("x-dead-letter-exchange".into(), long_string(exchange));
    }
    arguments
}

fn long_string(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value))
}

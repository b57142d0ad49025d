//! RabbitMQ as MinIO uses it (a publishing connection, the publish of one event), and what a
//! test asks the broker about its queues.

use anyhow::Context;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, Queue};
use secrecy::ExposeSecret;

use crate::settings::AmqpSettings;

/// A connection to the broker of `settings` and a channel with publisher confirms, so a
/// publish returns once the broker has the message. Keep the connection: dropping it closes
/// the channel.
pub async fn amqp_channel(settings: &AmqpSettings) -> anyhow::Result<(Connection, Channel)> {
    // lapin runs its own executor and reactor threads unless given tokio's.
    let properties = ConnectionProperties::default()
        .with_executor(tokio_executor_trait::Tokio::current())
        .with_reactor(tokio_reactor_trait::Tokio);
    let connection = Connection::connect(settings.url.expose_secret(), properties)
        .await
        .context("Failed to connect to RabbitMQ (is it running? see scripts/test)")?;
    let channel = connection
        .create_channel()
        .await
        .context("Failed to open an AMQP channel")?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .context("Failed to enable publisher confirms")?;
    Ok((connection, channel))
}

/// Publishes `body` to the exchange and routing key of `settings` as MinIO does (persistent,
/// JSON, with the `minio-bucket` header) and waits for the broker's confirm.
pub async fn publish(
    channel: &Channel,
    settings: &AmqpSettings,
    bucket: &str,
    body: &[u8],
) -> anyhow::Result<()> {
    let mut headers = FieldTable::default();
    headers.insert(
        "minio-bucket".into(),
        AMQPValue::LongString(LongString::from(bucket)),
    );
    let properties = BasicProperties::default()
        .with_content_type("application/json".into())
        .with_delivery_mode(2)
        .with_headers(headers);
    channel
        .basic_publish(
            &settings.exchange,
            &settings.routing_key,
            BasicPublishOptions::default(),
            body,
            properties,
        )
        .await
        .context("Failed to publish")?
        .await
        .context("The broker did not confirm the publish")?;
    Ok(())
}

/// Queue `name` as the broker has it now (its message and consumer counts), without declaring
/// it: a passive declare fails if the queue does not exist.
pub async fn queue_state(channel: &Channel, name: &str) -> anyhow::Result<Queue> {
    let passive = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(name, passive, FieldTable::default())
        .await
        .with_context(|| format!("Failed to look up queue {name:?}"))
}

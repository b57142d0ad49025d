//! RabbitMQ as MinIO uses it: a publishing connection, and the publish of one event.

use anyhow::Context;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
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

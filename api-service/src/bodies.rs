//! The collection, track and organization request bodies, the fields the collection and track
//! bodies share (declared once, `request_body!`), and what fields may hold beyond their JSON
//! types, checked here and described by the schemas here, so the OpenAPI document says exactly
//! what the handlers enforce: `#RRGGBB` colors ([`HexColor`]), text without U+0000
//! ([`Text`]), `image_colors` elements in range ([`ImageColorInput`]) and `metadata` objects
//! ([`JsonObject`]). The queries (`db`) take these bodies; nothing here knows about rows or
//! responses.

use common::colors::ImageColor;
use common::theme::{Roles, Scheme, Theme, parse_hex};
use serde::Deserialize;
use serde_json::value::RawValue;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

use crate::error::ApiError;
use crate::webhooks::EventType;

/// A client's `metadata` object, kept as the JSON text it came in (and, in responses, as
/// PostgreSQL's `jsonb` prints it): parsing it into numbers would refuse, or round, values
/// that `jsonb` stores exactly, and then fail to read them back.
pub type Metadata = Box<RawValue>;

/// Schema of the `#RRGGBB` color fields (either case), which are `String`s in Rust; fields
/// point at it with `#[schema(value_type = HexColor)]`.
pub struct HexColor;

impl PartialSchema for HexColor {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^#[0-9A-Fa-f]{6}$"))
            .examples(["#aa0011"])
            .into()
    }
}

impl ToSchema for HexColor {}

/// Schema of the free-text fields: any string without U+0000, which PostgreSQL cannot store
/// (`input::parse_json` refuses it in every body).
pub struct Text;

impl PartialSchema for Text {
    fn schema() -> RefOr<Schema> {
        no_nul().into()
    }
}

impl ToSchema for Text {}

fn no_nul() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^[^\\u0000]*$"))
}

/// Schema of `metadata`: any JSON object, described as generated clients take it (a plain
/// JSON object, as the vendor's clients treat it). No key or string in it may hold U+0000
/// (`input::parse_json` refuses it with 400); the keys' pattern says so, the description for
/// the nested values, which a recursive "any JSON" schema would say at the price of clients
/// that generators cannot build.
pub struct JsonObject;

impl PartialSchema for JsonObject {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property_names(Some(no_nul()))
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .description(Some(
                "Any JSON object; no key or string in it may contain U+0000 (400 otherwise).",
            ))
            .into()
    }
}

impl ToSchema for JsonObject {}

// Read as `f64` so that a value just outside a range is refused rather than rounded into it
// by the `f32` of the stored form; the schema also describes the elements responses carry.
/// One `image_colors` element: a palette color of the cover.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ImageColor)]
pub struct ImageColorInput {
    #[schema(value_type = HexColor)]
    pub hex: String,
    #[serde(deserialize_with = "crate::input::integer")]
    #[schema(maximum = 255)]
    pub red: u8,
    #[serde(deserialize_with = "crate::input::integer")]
    #[schema(maximum = 255)]
    pub green: u8,
    #[serde(deserialize_with = "crate::input::integer")]
    #[schema(maximum = 255)]
    pub blue: u8,
    /// HSL hue in degrees.
    #[schema(minimum = 0, maximum = 360)]
    pub hue: f64,
    /// HSL saturation.
    #[schema(minimum = 0, maximum = 1)]
    pub saturation: f64,
    /// HSL lightness.
    #[schema(minimum = 0, maximum = 1)]
    pub lightness: f64,
    /// Share of the cover's opaque pixels closest to this color.
    #[schema(minimum = 0, maximum = 1)]
    pub area: f64,
    /// True for the color chosen as `player_color`.
    pub active: bool,
}

impl ImageColorInput {
    /// Ranges serde cannot check, named by the element's path.
    fn check(&self, path: &str) -> Result<(), ApiError> {
        if !common::colors::is_hex_color(&self.hex) {
            return Err(invalid_field(format!(
                "`{path}.hex` must be a color of the form #RRGGBB"
            )));
        }
        for (name, value, max) in [
            ("hue", self.hue, 360.0),
            ("saturation", self.saturation, 1.0),
            ("lightness", self.lightness, 1.0),
            ("area", self.area, 1.0),
        ] {
            if !(0.0..=max).contains(&value) {
                return Err(invalid_field(format!(
                    "`{path}.{name}` must be between 0 and {max}"
                )));
            }
        }
        Ok(())
    }
}

/// The stored form (`f32`, as the worker writes it).
impl From<&ImageColorInput> for ImageColor {
    fn from(color: &ImageColorInput) -> Self {
        Self {
            hex: color.hex.clone(),
            red: color.red,
            green: color.green,
            blue: color.blue,
            hue: color.hue as f32,
            saturation: color.saturation as f32,
            lightness: color.lightness as f32,
            area: color.area as f32,
            active: color.active,
        }
    }
}

/// Declares a collection or track request body: its own fields, then the fields all four such
/// bodies share (`creator_id`, `player_subtitle`, `metadata`, `image_colors` and the three
/// `player_color*`) with their schemas, unknown fields refused, and a `check()` running
/// [`check`] on it. One list, so the four bodies cannot drift apart.
macro_rules! request_body {
    ($(#[$attr:meta])* pub struct $name:ident { $($fields:tt)* }) => {
        $(#[$attr])*
        #[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($fields)*
            #[schema(value_type = Option<crate::bodies::Text>)]
            pub creator_id: Option<String>,
            #[schema(value_type = Option<crate::bodies::Text>)]
            pub player_subtitle: Option<String>,
            /// Any JSON object.
            #[schema(value_type = Option<crate::bodies::JsonObject>)]
            pub metadata: Option<crate::bodies::Metadata>,
            /// Usually left to the color worker, which sets it when a cover is applied.
            pub image_colors: Option<Vec<crate::bodies::ImageColorInput>>,
            #[schema(value_type = Option<crate::bodies::HexColor>)]
            pub player_color: Option<String>,
            #[schema(value_type = Option<crate::bodies::HexColor>)]
            pub player_color_light: Option<String>,
            #[schema(value_type = Option<crate::bodies::HexColor>)]
            pub player_color_dark: Option<String>,
            /// Usually left to the color worker, which sets it when a cover is applied.
            pub theme: Option<crate::bodies::ThemeInput>,
        }

        impl $name {
            /// What serde cannot check about the shared fields.
            pub fn check(&self) -> Result<(), crate::error::ApiError> {
                let colors = [
                    ("player_color", self.player_color.as_ref()),
                    ("player_color_light", self.player_color_light.as_ref()),
                    ("player_color_dark", self.player_color_dark.as_ref()),
                ];
                crate::bodies::check(
                    colors,
                    self.image_colors.as_deref(),
                    self.metadata.as_deref(),
                    self.theme.as_ref(),
                )
            }
        }
    };
}

request_body! {
    /// The body of `POST /v1/collection`. Absent or null optional fields take their defaults
    /// (`metadata`: `{}`).
    pub struct NewCollection {
        #[schema(value_type = Text)]
        pub title: String,
        /// Default `true`; `false` refuses track covers.
        pub is_cover_overridable: Option<bool>,
        /// Default `true`; `false` keeps track covers from changing their tracks' colors.
        pub is_theme_overridable: Option<bool>,
    }
}

request_body! {
    /// The body of `PUT /v1/collection/{collection_id}`: a partial update, in which an absent
    /// or null field is left unchanged.
    pub struct CollectionUpdate {
        #[schema(value_type = Option<Text>)]
        pub title: Option<String>,
        pub is_cover_overridable: Option<bool>,
        pub is_theme_overridable: Option<bool>,
    }
}

/// [`request_body!`] with the fields both track bodies have besides the shared ones.
macro_rules! track_body {
    ($(#[$attr:meta])* pub struct $name:ident { $($fields:tt)* }) => {
        request_body! {
            $(#[$attr])*
            pub struct $name {
                $($fields)*
                #[serde(default, deserialize_with = "crate::input::optional_integer")]
                #[schema(minimum = -2147483648, maximum = 2147483647)]
                pub index: Option<i32>,
                /// Position in the collection's track list (ascending, unset last).
                #[serde(default, deserialize_with = "crate::input::optional_integer")]
                #[schema(minimum = -2147483648, maximum = 2147483647)]
                pub order: Option<i32>,
                /// Seconds.
                #[schema(minimum = 0)]
                pub duration: Option<f64>,
                #[schema(value_type = Option<Text>)]
                pub file_name: Option<String>,
                #[schema(value_type = Option<Text>)]
                pub player_title: Option<String>,
            }
        }
    };
}

track_body! {
    /// The body of `POST /v1/track`. Absent or null optional fields are stored as null
    /// (`metadata`: `{}`).
    pub struct NewTrack {
        /// One of the caller's collections; a track cannot move to another later.
        pub collection_id: Uuid,
    }
}

track_body! {
    /// The body of `PUT /v1/track/{track_id}`: a partial update, in which an absent or null
    /// field is left unchanged. A track stays in its collection.
    pub struct TrackUpdate {
        // Not in the schema: sent at all, it is refused with a message saying why.
        #[serde(default, deserialize_with = "crate::input::present")]
        #[schema(ignore)]
        pub collection_id: bool,
    }
}

/// The body of `PUT /v1/organization/{organization_id}`: a partial update, in which an absent
/// or null field is left unchanged.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationUpdate {
    /// 1 to 200 characters.
    #[schema(value_type = Option<Text>, min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// `false`: collections and tracks show the organization's cover and refuse their own.
    pub is_cover_overridable: Option<bool>,
    /// `false`: collections and tracks show the organization's colors and theme.
    pub is_theme_overridable: Option<bool>,
    /// Usually left to the color worker, which sets it when a cover is applied.
    pub image_colors: Option<Vec<ImageColorInput>>,
    #[schema(value_type = Option<HexColor>)]
    pub player_color: Option<String>,
    #[schema(value_type = Option<HexColor>)]
    pub player_color_light: Option<String>,
    #[schema(value_type = Option<HexColor>)]
    pub player_color_dark: Option<String>,
    /// Usually left to the color worker, which sets it when a cover is applied.
    pub theme: Option<ThemeInput>,
}

impl OrganizationUpdate {
    /// What serde cannot check.
    pub fn check(&self) -> Result<(), ApiError> {
        let name_length = self.name.as_ref().map(|name| name.chars().count());
        if name_length.is_some_and(|length| !(1..=200).contains(&length)) {
            return Err(invalid_field("`name` must be 1 to 200 characters"));
        }
        let colors = [
            ("player_color", self.player_color.as_ref()),
            ("player_color_light", self.player_color_light.as_ref()),
            ("player_color_dark", self.player_color_dark.as_ref()),
        ];
        check(
            colors,
            self.image_colors.as_deref(),
            None,
            self.theme.as_ref(),
        )
    }
}

/// What serde cannot check about a track body's `duration`, besides what `check()` covers.
pub fn check_duration(duration: Option<f64>) -> Result<(), ApiError> {
    if duration.is_some_and(|duration| duration < 0.0) {
        return Err(invalid_field("`duration` must be 0 or greater"));
    }
    Ok(())
}

/// Checks what serde cannot: the `player_color*` fields and the theme's roles are `#RRGGBB`,
/// every `image_colors` element is in range and `metadata` is an object.
pub fn check(
    colors: [(&str, Option<&String>); 3],
    image_colors: Option<&[ImageColorInput]>,
    metadata: Option<&RawValue>,
    theme: Option<&ThemeInput>,
) -> Result<(), ApiError> {
    if let Some(theme) = theme {
        theme.check()?;
    }
    for (name, value) in colors {
        if value.is_some_and(|value| !common::colors::is_hex_color(value)) {
            return Err(invalid_field(format!(
                "`{name}` must be a color of the form #RRGGBB"
            )));
        }
    }
    for (index, color) in image_colors.unwrap_or_default().iter().enumerate() {
        color.check(&format!("image_colors[{index}]"))?;
    }
    if metadata.is_some_and(|metadata| !metadata.get().trim_start().starts_with('{')) {
        return Err(invalid_field("`metadata` must be a JSON object"));
    }
    Ok(())
}

/// A theme a client sets: the five roles of each scheme. Their contrast ratios are computed
/// from the colors (a `contrast` sent along, as a theme read from the API has, is ignored),
/// and not enforced: a client's theme is shown as set, with its true ratios.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThemeInput {
    pub cover: SchemeInput,
    pub light: SchemeInput,
    pub dark: SchemeInput,
}

/// One scheme of a [`ThemeInput`].
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SchemeInput {
    #[schema(value_type = HexColor)]
    pub background: String,
    #[schema(value_type = HexColor)]
    pub text: String,
    #[schema(value_type = HexColor)]
    pub text_secondary: String,
    #[schema(value_type = HexColor)]
    pub accent: String,
    #[schema(value_type = HexColor)]
    pub on_accent: String,
    /// Ignored, whatever it holds: the ratios are computed from the colors.
    #[serde(default)]
    #[schema(value_type = Option<serde_json::Value>)]
    pub contrast: Option<serde::de::IgnoredAny>,
}

impl ThemeInput {
    fn schemes(&self) -> [(&str, &SchemeInput); 3] {
        [
            ("cover", &self.cover),
            ("light", &self.light),
            ("dark", &self.dark),
        ]
    }

    fn check(&self) -> Result<(), ApiError> {
        for (name, scheme) in self.schemes() {
            for (role, value) in scheme.roles() {
                if !common::colors::is_hex_color(value) {
                    return Err(invalid_field(format!(
                        "`theme.{name}.{role}` must be a color of the form #RRGGBB"
                    )));
                }
            }
        }
        Ok(())
    }

    /// The stored form, with the ratios of the colors as set; call after [`check`].
    pub fn to_theme(&self) -> Theme {
        let [cover, light, dark] = self.schemes().map(|(_, scheme)| {
            let [background, text, text_secondary, accent, on_accent] = scheme
                .roles()
                .map(|(_, hex)| parse_hex(hex).unwrap_or_default());
            Scheme::new(&Roles {
                background,
                text,
                text_secondary,
                accent,
                on_accent,
            })
        });
        Theme { cover, light, dark }
    }
}

impl SchemeInput {
    fn roles(&self) -> [(&str, &str); 5] {
        [
            ("background", &self.background),
            ("text", &self.text),
            ("text_secondary", &self.text_secondary),
            ("accent", &self.accent),
            ("on_accent", &self.on_accent),
        ]
    }
}

fn invalid_field(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_field", message)
}

/// The body of `POST /v1/webhook_endpoint`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookEndpoint {
    /// Where events are POSTed: an `https` URL whose every address is public (loopback,
    /// private, link-local and other special addresses are refused, here and at every
    /// connect), at most 2048 characters. The pattern is `webhooks::targets::URL_PATTERN`
    /// (a test keeps them equal); the addresses are checked when it is registered.
    #[schema(value_type = String, max_length = 2048, pattern = r"^https?://([A-Za-z][A-Za-z0-9-]{0,62}(\.[A-Za-z][A-Za-z0-9-]{0,62})*|((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]))(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?(\?[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?$")]
    pub url: String,
    /// The events to receive, at least one; absent or null: every event.
    #[schema(value_type = Option<Vec<crate::webhooks::EventType>>, min_items = 1)]
    pub events: Option<Vec<String>>,
}

impl NewWebhookEndpoint {
    /// The URL's length and the events' names, deduplicated (every event if none are given).
    pub fn events(&self) -> Result<Vec<&'static str>, ApiError> {
        if self.url.chars().count() > 2048 {
            return Err(ApiError::bad_request(
                "invalid_webhook_url",
                "`url` must be at most 2048 characters",
            ));
        }
        let Some(names) = &self.events else {
            return Ok(EventType::ALL.map(EventType::as_str).to_vec());
        };
        if names.is_empty() {
            return Err(ApiError::bad_request(
                "unknown_event",
                "`events` must name at least one event (or be left out for every event)",
            ));
        }
        let mut events = Vec::new();
        for name in names {
            let event = EventType::parse(name).ok_or_else(|| {
                let known: Vec<_> = EventType::ALL.map(EventType::as_str).to_vec();
                ApiError::bad_request(
                    "unknown_event",
                    format!(
                        "unknown event {name:?}; the events are {}",
                        known.join(", ")
                    ),
                )
            })?;
            if !events.contains(&event.as_str()) {
                events.push(event.as_str());
            }
        }
        Ok(events)
    }
}

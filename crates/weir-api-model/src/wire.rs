//! serde helpers for protobuf JSON as KFP's grpc-gateway writes and reads it.
//!
//! Out: int64 as a JSON string, int32 as a number, timestamps as RFC 3339 in UTC, zero scalars
//! left out. In: integers as numbers or strings, `null` as "not set".

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A scalar that proto3 leaves out of its JSON when it holds its zero value
/// (grpc-gateway's `EmitUnpopulated: false`).
pub(crate) trait ProtoZero {
    fn is_proto_zero(&self) -> bool;
}

impl ProtoZero for String {
    fn is_proto_zero(&self) -> bool {
        self.is_empty()
    }
}

impl ProtoZero for i32 {
    fn is_proto_zero(&self) -> bool {
        *self == 0
    }
}

impl ProtoZero for i64 {
    fn is_proto_zero(&self) -> bool {
        *self == 0
    }
}

impl ProtoZero for bool {
    fn is_proto_zero(&self) -> bool {
        !*self
    }
}

/// `skip_serializing_if` for an optional scalar: left out when absent or zero.
pub(crate) fn is_unset<T: ProtoZero>(value: &Option<T>) -> bool {
    value.as_ref().is_none_or(ProtoZero::is_proto_zero)
}

/// `deserialize_with` for repeated and map fields: protobuf JSON reads `null` as empty.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

/// An integer as protobuf JSON accepts it: a number, or a string holding one.
struct Integer(i64);

impl<'de> Deserialize<'de> for Integer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IntegerVisitor).map(Integer)
    }
}

struct IntegerVisitor;

impl Visitor<'_> for IntegerVisitor {
    type Value = i64;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an integer, as a JSON number or a string")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<i64, E> {
        Ok(value)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<i64, E> {
        i64::try_from(value).map_err(|_| E::custom(format!("integer {value} is out of range")))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<i64, E> {
        // protobuf JSON takes `5.0` and `1e3` for integers, but not `0.5`.
        let in_range = value >= i64::MIN as f64 && value < i64::MAX as f64;
        if value.is_finite() && value.fract() == 0.0 && in_range {
            return Ok(value as i64);
        }
        Err(E::invalid_value(Unexpected::Float(value), &self))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<i64, E> {
        value
            .parse::<i64>()
            .map_err(|_| E::invalid_value(Unexpected::Str(value), &self))
    }
}

fn int32_from<E: de::Error>(value: i64) -> Result<i32, E> {
    i32::try_from(value)
        .map_err(|_| E::custom(format!("integer {value} is out of range for int32")))
}

/// `int64` fields: a JSON string out, a string or a number in.
pub(crate) mod int64 {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        value: &Option<i64>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(number) => serializer.collect_str(number),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<i64>, D::Error> {
        Ok(Option::<Integer>::deserialize(deserializer)?.map(|Integer(number)| number))
    }
}

/// `repeated int64` fields: JSON strings out, strings or numbers in.
pub(crate) mod int64_list {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        values: &[i64],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(values.iter().map(i64::to_string))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<i64>, D::Error> {
        let values = Option::<Vec<Integer>>::deserialize(deserializer)?.unwrap_or_default();
        Ok(values.into_iter().map(|Integer(number)| number).collect())
    }
}

/// `int32` fields: a JSON number out, a number or a string in.
pub(crate) mod int32 {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        value: &Option<i32>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        value.serialize(serializer)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<i32>, D::Error> {
        Option::<Integer>::deserialize(deserializer)?
            .map(|Integer(number)| int32_from(number))
            .transpose()
    }
}

/// `repeated int32` fields: JSON numbers out, numbers or strings in.
pub(crate) mod int32_list {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        values: &[i32],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        values.serialize(serializer)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<i32>, D::Error> {
        let values = Option::<Vec<Integer>>::deserialize(deserializer)?.unwrap_or_default();
        values
            .into_iter()
            .map(|Integer(number)| int32_from(number))
            .collect()
    }
}

/// Formats a timestamp the way protobuf JSON does: RFC 3339, UTC, `Z`, and 0, 3, 6 or 9
/// fractional digits.
pub fn format_timestamp(timestamp: &DateTime<Utc>) -> String {
    timestamp.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// `google.protobuf.Timestamp` fields: RFC 3339 strings, any offset in, UTC out.
pub(crate) mod timestamp {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        value: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(timestamp) => serializer.serialize_str(&format_timestamp(timestamp)),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        let Some(text) = Option::<String>::deserialize(deserializer)? else {
            return Ok(None);
        };
        DateTime::parse_from_rfc3339(&text)
            .map(|timestamp| Some(timestamp.with_timezone(&Utc)))
            .map_err(|error| {
                de::Error::custom(format!(
                    "invalid timestamp {text:?}: {error}; expected RFC 3339 such as 2026-01-01T00:00:00Z"
                ))
            })
    }
}

/// A protobuf enum on the wire: written as its name, read from its name or its number.
pub(crate) trait WireEnum: Sized + 'static {
    const TYPE_NAME: &'static str;
    const NAMES: &'static [&'static str];
    fn from_name(name: &str) -> Option<Self>;
    fn from_number(number: i64) -> Option<Self>;
}

pub(crate) fn deserialize_enum<'de, D, E>(deserializer: D) -> Result<E, D::Error>
where
    D: Deserializer<'de>,
    E: WireEnum,
{
    deserializer.deserialize_any(EnumVisitor(std::marker::PhantomData))
}

struct EnumVisitor<E>(std::marker::PhantomData<E>);

impl<E: WireEnum> Visitor<'_> for EnumVisitor<E> {
    type Value = E;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "a {} name or number", E::TYPE_NAME)
    }

    fn visit_str<Er: de::Error>(self, name: &str) -> Result<E, Er> {
        E::from_name(name).ok_or_else(|| {
            Er::custom(format!(
                "unknown {} {name:?}; expected one of {} or its number",
                E::TYPE_NAME,
                E::NAMES.join(", ")
            ))
        })
    }

    fn visit_i64<Er: de::Error>(self, number: i64) -> Result<E, Er> {
        E::from_number(number).ok_or_else(|| {
            Er::custom(format!(
                "unknown {} number {number}; expected one of {} or its number",
                E::TYPE_NAME,
                E::NAMES.join(", ")
            ))
        })
    }

    fn visit_u64<Er: de::Error>(self, number: u64) -> Result<E, Er> {
        // Too large for any enum: reported as unknown, like every other number without a name.
        self.visit_i64(i64::try_from(number).unwrap_or(i64::MAX))
    }
}

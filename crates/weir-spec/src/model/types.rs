use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The type of a parameter (`ParameterType` in the IR).
///
/// Unknown names are kept (as `Unknown`) so the spec still round-trips; validation reports them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ParameterType {
    NumberDouble,
    NumberInteger,
    String,
    Boolean,
    List,
    Struct,
    TaskFinalStatus,
    TaskConfig,
    Unknown(std::string::String),
}

impl ParameterType {
    const NAMES: [(&'static str, ParameterType); 8] = [
        ("NUMBER_DOUBLE", ParameterType::NumberDouble),
        ("NUMBER_INTEGER", ParameterType::NumberInteger),
        ("STRING", ParameterType::String),
        ("BOOLEAN", ParameterType::Boolean),
        ("LIST", ParameterType::List),
        ("STRUCT", ParameterType::Struct),
        ("TASK_FINAL_STATUS", ParameterType::TaskFinalStatus),
        ("TASK_CONFIG", ParameterType::TaskConfig),
    ];

    /// The protobuf enum name (`NUMBER_INTEGER`, ...).
    pub fn name(&self) -> &str {
        match self {
            ParameterType::Unknown(name) => name,
            known => Self::NAMES
                .iter()
                .find(|(_, t)| t == known)
                .map(|(n, _)| *n)
                .unwrap_or("PARAMETER_TYPE_ENUM_UNSPECIFIED"),
        }
    }

    /// Parses an enum name or its protobuf number (1 to 8).
    pub fn from_name(name: &str) -> ParameterType {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| ParameterType::Unknown(name.to_owned()))
    }

    fn from_number(number: u64) -> ParameterType {
        match number {
            1..=8 => Self::NAMES[(number - 1) as usize].1.clone(),
            other => ParameterType::Unknown(other.to_string()),
        }
    }

    /// Whether a JSON value has the shape this type requires.
    pub fn accepts(&self, value: &serde_json::Value) -> bool {
        use serde_json::Value as V;
        match (self, value) {
            (ParameterType::NumberDouble, V::Number(_)) => true,
            (ParameterType::NumberInteger, V::Number(n)) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            (ParameterType::String, V::String(_)) => true,
            (ParameterType::Boolean, V::Bool(_)) => true,
            (ParameterType::List, V::Array(_)) => true,
            (
                ParameterType::Struct | ParameterType::TaskFinalStatus | ParameterType::TaskConfig,
                V::Object(_),
            ) => true,
            _ => false,
        }
    }
}

impl fmt::Display for ParameterType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for ParameterType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for ParameterType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum NameOrNumber {
            Name(std::string::String),
            Number(u64),
        }
        Ok(match NameOrNumber::deserialize(deserializer)? {
            NameOrNumber::Name(name) => ParameterType::from_name(&name),
            NameOrNumber::Number(number) => ParameterType::from_number(number),
        })
    }
}

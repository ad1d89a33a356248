//! The protobuf enums of the v2beta1 API. Each is written as its name and read from its name
//! or its number; an unknown name or number is an error. The variant numbered 0 is the proto3
//! zero value: a field holding it is left out of responses.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::wire::{self, ProtoZero, WireEnum};

/// An enum name that the API does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {type_name} {name:?}")]
pub struct UnknownEnumName {
    pub type_name: &'static str,
    pub name: String,
}

macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident as $swagger:literal {
            $($(#[$variant_meta:meta])* $variant:ident = $number:literal => $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub enum $name {
            #[default]
            $($(#[$variant_meta])* $variant,)+
        }

        impl $name {
            /// Every variant, in protobuf number order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The protobuf enum name, as written on the wire.
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }

            /// The protobuf enum number.
            pub fn number(self) -> i32 {
                match self { $($name::$variant => $number,)+ }
            }

            pub fn from_name(name: &str) -> Option<$name> {
                match name {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            pub fn from_number(number: i64) -> Option<$name> {
                match number {
                    $($number => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl WireEnum for $name {
            const TYPE_NAME: &'static str = $swagger;
            const NAMES: &'static [&'static str] = &[$($text,)+];

            fn from_name(name: &str) -> Option<Self> {
                $name::from_name(name)
            }

            fn from_number(number: i64) -> Option<Self> {
                $name::from_number(number)
            }
        }

        impl ProtoZero for $name {
            fn is_proto_zero(&self) -> bool {
                self.number() == 0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(self.name())
            }
        }

        impl FromStr for $name {
            type Err = UnknownEnumName;

            fn from_str(name: &str) -> Result<Self, UnknownEnumName> {
                $name::from_name(name).ok_or_else(|| UnknownEnumName {
                    type_name: $swagger,
                    name: name.to_owned(),
                })
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.name())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                wire::deserialize_enum(deserializer)
            }
        }
    };
}

wire_enum! {
    /// The state of a run or a task (`v2beta1RuntimeState`).
    RuntimeState as "RuntimeState" {
        Unspecified = 0 => "RUNTIME_STATE_UNSPECIFIED",
        Pending = 1 => "PENDING",
        Running = 2 => "RUNNING",
        Succeeded = 3 => "SUCCEEDED",
        Skipped = 4 => "SKIPPED",
        Failed = 5 => "FAILED",
        Canceling = 6 => "CANCELING",
        Canceled = 7 => "CANCELED",
        Paused = 8 => "PAUSED",
    }
}

wire_enum! {
    /// Whether an experiment or a run is archived (`v2beta1ExperimentStorageState` and
    /// `v2beta1RunStorageState`, which are the same enum).
    StorageState as "StorageState" {
        Unspecified = 0 => "STORAGE_STATE_UNSPECIFIED",
        Available = 1 => "AVAILABLE",
        Archived = 2 => "ARCHIVED",
    }
}

wire_enum! {
    /// What a user asks of a recurring run (`RecurringRunMode`).
    RecurringRunMode as "RecurringRunMode" {
        Unspecified = 0 => "MODE_UNSPECIFIED",
        Enable = 1 => "ENABLE",
        Disable = 2 => "DISABLE",
    }
}

wire_enum! {
    /// Whether a recurring run is enabled (`v2beta1RecurringRunStatus`).
    RecurringRunStatus as "RecurringRunStatus" {
        Unspecified = 0 => "STATUS_UNSPECIFIED",
        Enabled = 1 => "ENABLED",
        Disabled = 2 => "DISABLED",
    }
}

wire_enum! {
    /// A filter predicate's comparison (`v2beta1PredicateOperation`). Number 4 is unused.
    PredicateOperation as "PredicateOperation" {
        Unspecified = 0 => "OPERATION_UNSPECIFIED",
        Equals = 1 => "EQUALS",
        NotEquals = 2 => "NOT_EQUALS",
        GreaterThan = 3 => "GREATER_THAN",
        GreaterThanEquals = 5 => "GREATER_THAN_EQUALS",
        LessThan = 6 => "LESS_THAN",
        LessThanEquals = 7 => "LESS_THAN_EQUALS",
        In = 8 => "IN",
        IsSubstring = 9 => "IS_SUBSTRING",
    }
}

wire_enum! {
    /// The state of a plugin's own work for a run (`v2beta1PluginState`).
    PluginState as "PluginState" {
        Unspecified = 0 => "PLUGIN_STATE_UNSPECIFIED",
        Running = 1 => "PLUGIN_RUNNING",
        Succeeded = 2 => "PLUGIN_SUCCEEDED",
        Failed = 3 => "PLUGIN_FAILED",
    }
}

wire_enum! {
    /// How the UI renders a plugin output value (`MetadataValueRenderType`).
    MetadataValueRenderType as "MetadataValueRenderType" {
        Unspecified = 0 => "UNSPECIFIED",
        Url = 1 => "URL",
    }
}

wire_enum! {
    /// The kind of a visualization (`v2beta1VisualizationType`). Its zero value is `ROC_CURVE`.
    VisualizationType as "VisualizationType" {
        RocCurve = 0 => "ROC_CURVE",
        Tfdv = 1 => "TFDV",
        Tfma = 2 => "TFMA",
        Table = 3 => "TABLE",
        Custom = 4 => "CUSTOM",
    }
}

wire_enum! {
    /// The `propagation_policy` query parameter of DeleteRecurringRun
    /// (`v2beta1DeletePropagationPolicy`).
    DeletePropagationPolicy as "DeletePropagationPolicy" {
        Unspecified = 0 => "DELETE_PROPAGATION_POLICY_UNSPECIFIED",
        Foreground = 1 => "FOREGROUND",
        Background = 2 => "BACKGROUND",
        Orphan = 3 => "ORPHAN",
    }
}

wire_enum! {
    /// The `resources` query parameter of `GET /apis/v2beta1/auth` (`AuthorizeRequestResources`).
    AuthorizeRequestResources as "AuthorizeRequestResources" {
        UnassignedResources = 0 => "UNASSIGNED_RESOURCES",
        Viewers = 1 => "VIEWERS",
    }
}

wire_enum! {
    /// The `verb` query parameter of `GET /apis/v2beta1/auth` (`AuthorizeRequestVerb`).
    AuthorizeRequestVerb as "AuthorizeRequestVerb" {
        UnassignedVerb = 0 => "UNASSIGNED_VERB",
        Create = 1 => "CREATE",
        Get = 2 => "GET",
        Delete = 3 => "DELETE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_are_written_as_names_and_read_from_names_or_numbers() {
        assert_eq!(
            serde_json::to_string(&RuntimeState::Succeeded)
                .ok()
                .as_deref(),
            Some("\"SUCCEEDED\"")
        );
        let from_name: PredicateOperation =
            serde_json::from_str("\"IS_SUBSTRING\"").unwrap_or_default();
        let from_number: PredicateOperation = serde_json::from_str("9").unwrap_or_default();
        assert_eq!(from_name, PredicateOperation::IsSubstring);
        assert_eq!(from_number, PredicateOperation::IsSubstring);
    }

    #[test]
    fn unknown_names_and_numbers_are_refused() {
        let unknown_name = serde_json::from_str::<RuntimeState>("\"DONE\"");
        let message = unknown_name
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(
            message.contains("unknown RuntimeState \"DONE\""),
            "{message}"
        );
        assert!(message.contains("SUCCEEDED"), "{message}");
        assert!(serde_json::from_str::<PredicateOperation>("4").is_err());
        assert!(serde_json::from_str::<PredicateOperation>("-1").is_err());
        assert!(serde_json::from_str::<PredicateOperation>("18446744073709551615").is_err());
        assert!(serde_json::from_str::<StorageState>("\"archived\"").is_err());
        assert!(serde_json::from_str::<StorageState>("true").is_err());
    }

    #[test]
    fn names_and_numbers_round_trip() {
        for state in RuntimeState::ALL {
            assert_eq!(RuntimeState::from_name(state.name()), Some(*state));
            assert_eq!(
                RuntimeState::from_number(i64::from(state.number())),
                Some(*state)
            );
            assert_eq!(state.name().parse::<RuntimeState>(), Ok(*state));
        }
        assert_eq!(RuntimeState::default(), RuntimeState::Unspecified);
        assert_eq!(VisualizationType::default(), VisualizationType::RocCurve);
    }
}

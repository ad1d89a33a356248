use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A string that is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a valid {kind} id (expected a UUID such as 0192f0c1-7c1e-7a4e-9b1d-3f5c2a1e4b6d)")]
pub struct IdParseError {
    pub kind: &'static str,
    pub text: String,
}

macro_rules! id_type {
    ($name:ident, $kind:literal) => {
        #[doc = concat!("The id of a ", $kind, ": a UUIDv7, displayed hyphenated.")]
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                $name(Uuid::now_v7())
            }

            pub fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl FromStr for $name {
            type Err = IdParseError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(text.trim())
                    .map($name)
                    .map_err(|_| IdParseError {
                        kind: $kind,
                        text: text.to_owned(),
                    })
            }
        }
    };
}

id_type!(RunId, "run");
id_type!(TaskId, "task");
id_type!(ExperimentId, "experiment");
id_type!(PipelineId, "pipeline");
id_type!(PipelineVersionId, "pipeline version");
id_type!(RecurringRunId, "recurring run");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text_and_sort_by_creation() {
        let first = RunId::new();
        let second = RunId::new();
        assert!(first < second);
        assert_eq!(first.to_string().parse::<RunId>(), Ok(first));
        let error = "nope".parse::<TaskId>().expect_err("not a uuid");
        assert_eq!(error.kind, "task");
    }
}

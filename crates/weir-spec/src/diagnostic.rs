//! Problems found in a spec, as data. Each has a stable code with a page in `docs/errors/`.

use std::fmt;

use serde::Serialize;

/// How bad a problem is. Errors make a spec unrunnable; warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

macro_rules! codes {
    ($($variant:ident = $code:literal, $title:literal;)*) => {
        /// The stable code of every problem `weir validate` can report.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $($variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as users see it: `SPEC0007`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// A one-line description of the problem class.
            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title,)* }
            }
        }
    };
}

codes! {
    SyntaxError = "SPEC0001", "the file is not valid YAML or JSON";
    InputTooLarge = "SPEC0002", "the input exceeds a size, depth or expansion limit";
    UnknownFormat = "SPEC0003", "the document is neither a KFP pipeline nor a KFP component";
    InvalidField = "SPEC0004", "a field has the wrong type or shape";
    DuplicateName = "SPEC0005", "a name is defined twice";
    UnknownComponent = "SPEC0006", "a task refers to a component that does not exist";
    UnknownExecutor = "SPEC0007", "a component refers to an executor that does not exist";
    InvalidImplementation = "SPEC0008", "a component or executor does not say exactly one way to run";
    UnknownTask = "SPEC0009", "a reference names a task that is not in the same DAG";
    DependencyCycle = "SPEC0010", "tasks depend on each other in a cycle";
    UnknownOutput = "SPEC0011", "a reference names an output its producer does not have";
    TypeMismatch = "SPEC0012", "a parameter receives a value of another type";
    ArtifactTypeMismatch = "SPEC0013", "an artifact input receives an artifact of another type";
    InvalidLoopItems = "SPEC0014", "the items of a ParallelFor are not a list of the right type";
    UnknownPlaceholder = "SPEC0015", "a command or argument uses a placeholder that cannot be resolved";
    UnknownInput = "SPEC0016", "an input is passed or read that is not declared";
    MissingInput = "SPEC0017", "a required input is not supplied";
    PipelineInputWithoutDefault = "SPEC0018", "a pipeline input has no default and is not optional";
    InvalidInputSource = "SPEC0019", "an input does not say exactly one place its value comes from";
    InvalidCondition = "SPEC0020", "a condition or selector is not a valid expression";
    InvalidRetryPolicy = "SPEC0021", "a retry policy has an invalid count or duration";
    UnknownParameterType = "SPEC0022", "a parameter has an unknown type";
    InvalidPlatformConfig = "SPEC0023", "the Kubernetes platform configuration is invalid";
    UnsupportedFeature = "SPEC0024", "the spec uses a feature Weir does not run";
    InvalidImporter = "SPEC0025", "an importer does not say which artifact to import";
    MissingRoot = "SPEC0026", "the pipeline has no root DAG";
    InvalidDefault = "SPEC0027", "a default value does not match its declared type";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A place in the source text (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// One problem found in a spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    /// Dotted path to the field: `root.dag.tasks.train.inputs.parameters.lr`.
    pub path: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

impl Diagnostic {
    pub fn error(code: Code, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            path: path.into(),
            message: message.into(),
            hint: None,
            location: None,
        }
    }

    pub fn warning(code: Code, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, path, message)
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn at(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{severity}[{}]", self.code)?;
        if let Some(location) = self.location {
            write!(f, " {}:{}", location.line, location.column)?;
        }
        if !self.path.is_empty() {
            write!(f, " at {}", self.path)?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Sorts diagnostics for stable output: by path, then code, then message.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| (&a.path, a.code, &a.message).cmp(&(&b.path, b.code, &b.message)));
}

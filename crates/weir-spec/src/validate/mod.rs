//! Semantic checks over a parsed pipeline. Each check appends [`Diagnostic`]s; none stops the
//! others, so a user sees every problem at once.

mod component;
mod dag;
mod platform;

use std::collections::BTreeMap;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::{ComponentSpec, ParameterType, PipelineSpec};
use crate::parse::PipelineDocument;

/// Checks a parsed pipeline. Returns every problem found (unsorted).
pub fn validate(document: &PipelineDocument) -> Vec<Diagnostic> {
    let mut checker = Checker {
        spec: &document.spec,
        diagnostics: Vec::new(),
    };
    checker.check_root();
    for (name, component) in &document.spec.components {
        checker.check_component(&format!("components.{name}"), component);
    }
    checker.check_executors();
    checker.check_component_cycles();
    if let Some(platform) = &document.platform {
        platform::check(&mut checker, platform);
    }
    checker.diagnostics
}

pub(crate) struct Checker<'a> {
    pub(crate) spec: &'a PipelineSpec,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    pub(crate) fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    pub(crate) fn error(
        &mut self,
        code: Code,
        path: impl Into<String>,
        message: impl Into<String>,
        hint: &str,
    ) {
        self.push(Diagnostic::error(code, path, message).with_hint(hint));
    }

    fn check_root(&mut self) {
        let root = &self.spec.root;
        if root.dag.is_none() {
            self.error(
                Code::MissingRoot,
                "root.dag",
                "the pipeline has no `root.dag`, so there is nothing to run",
                "compile the pipeline with `kfp`; its root is a DAG of tasks",
            );
        }
        for (name, parameter) in root.input_parameters() {
            let required = !parameter.is_optional();
            let is_status = parameter.parameter_type == Some(ParameterType::TaskFinalStatus);
            if required && !is_status {
                self.push(
                    Diagnostic::warning(
                        Code::PipelineInputWithoutDefault,
                        format!("root.inputDefinitions.parameters.{name}"),
                        format!("the pipeline input `{name}` has no default and is not optional"),
                    )
                    .with_hint(format!(
                        "every run must supply it, e.g. `weir run FILE --param {name}=...`"
                    )),
                );
            }
        }
        self.check_component("root", root);
    }

    fn check_component(&mut self, path: &str, component: &'a ComponentSpec) {
        component::check_definitions(self, path, component);
        match (&component.executor_label, &component.dag) {
            (Some(label), None) => {
                if self.spec.executor(label).is_none() {
                    self.error(
                        Code::UnknownExecutor,
                        format!("{path}.executorLabel"),
                        format!(
                            "the executor `{label}` is not defined in `deploymentSpec.executors`"
                        ),
                        "add the executor, or fix the label",
                    );
                }
            }
            (None, Some(dag)) => dag::check(self, path, component, dag),
            (Some(_), Some(_)) => self.error(
                Code::InvalidImplementation,
                path.to_owned(),
                "the component has both `executorLabel` and `dag`",
                "a component is either a leaf (executorLabel) or a DAG, not both",
            ),
            (None, None) if path == "root" => {}
            (None, None) => self.error(
                Code::InvalidImplementation,
                path.to_owned(),
                "the component has neither `executorLabel` nor `dag`",
                "give the component an executor or a DAG of tasks",
            ),
        }
    }

    /// DAG components that contain themselves, directly or through others, would nest forever.
    fn check_component_cycles(&mut self) {
        let edges: BTreeMap<&str, Vec<&str>> = self
            .spec
            .components
            .iter()
            .map(|(name, component)| {
                let children = component
                    .dag
                    .iter()
                    .flat_map(|dag| dag.tasks.values())
                    .map(|task| task.component_ref.name.as_str())
                    .filter(|child| self.spec.component(child).is_some_and(|c| c.dag.is_some()))
                    .collect();
                (name.as_str(), children)
            })
            .collect();
        for cycle in dag::find_cycles(&edges) {
            let Some(first) = cycle.last() else { continue };
            let mut shown: Vec<&str> = cycle.iter().rev().copied().collect();
            shown.push(first);
            self.error(
                Code::DependencyCycle,
                format!("components.{first}"),
                format!("DAG components contain each other: {}", shown.join(" -> ")),
                "a pipeline cannot use itself as a component, directly or indirectly",
            );
        }
    }

    fn check_executors(&mut self) {
        // The components using each executor, found once (a pipeline has one per task).
        let spec = self.spec;
        let mut users: std::collections::HashMap<&str, Vec<&ComponentSpec>> =
            std::collections::HashMap::new();
        for component in spec.components.values().chain(std::iter::once(&spec.root)) {
            if let Some(label) = component.executor_label.as_deref() {
                users.entry(label).or_default().push(component);
            }
        }
        for (label, executor) in &spec.deployment_spec.executors {
            let users = users.get(label.as_str()).map_or(&[][..], Vec::as_slice);
            component::check_executor(self, label, executor, users);
        }
    }
}

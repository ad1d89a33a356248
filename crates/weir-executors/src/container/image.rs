//! Images: the pull policy, the image map that stands local images in for registry ones, and
//! the image's `PATH`.

use std::collections::BTreeMap;

use futures_util::StreamExt as _;

use super::{describe, ContainerEngine, API_CALL_TIMEOUT};

/// The `PATH` of an image that sets none (Docker's default).
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// How long pulling one image may take.
const PULL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1800);

/// When the image is pulled, as Kubernetes' `imagePullPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullPolicy {
    /// Pull only when the engine does not have the image.
    #[default]
    IfNotPresent,
    /// Pull before every run; fall back to a present image when no registry answers.
    Always,
    /// Never pull: the image must be present.
    Never,
}

impl PullPolicy {
    /// `IfNotPresent`, `Always` or `Never` (any case); anything else is `None`.
    pub fn parse(text: &str) -> Option<PullPolicy> {
        match text.trim().to_ascii_lowercase().as_str() {
            "ifnotpresent" => Some(PullPolicy::IfNotPresent),
            "always" => Some(PullPolicy::Always),
            "never" => Some(PullPolicy::Never),
            _ => None,
        }
    }
}

/// An entry of the image map that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{location}: `{entry}` is not an image mapping; write FROM=TO, e.g. python:3.11=localhost/weir-python:3.11")]
pub struct ImageMapError {
    pub location: String,
    pub entry: String,
}

/// Images rewritten before they are resolved: a pipeline compiled for a cluster's registry runs
/// with local images, unchanged. Keys match exactly, or after dropping Docker Hub's implicit
/// `docker.io/` and `library/` prefixes (`python:3.11` also matches `docker.io/library/python:3.11`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageMap {
    entries: BTreeMap<String, String>,
}

impl ImageMap {
    /// Adds one `FROM=TO` entry; a later entry for the same image wins.
    pub fn add(&mut self, entry: &str, location: &str) -> Result<(), ImageMapError> {
        let invalid = || ImageMapError {
            location: location.to_owned(),
            entry: entry.to_owned(),
        };
        let (from, to) = entry.split_once('=').ok_or_else(invalid)?;
        let (from, to) = (from.trim(), to.trim());
        if from.is_empty()
            || to.is_empty()
            || from.contains(char::is_whitespace)
            || to.contains(char::is_whitespace)
        {
            return Err(invalid());
        }
        self.entries.insert(normalize(from), to.to_owned());
        Ok(())
    }

    /// Reads a map file: one `FROM=TO` per line; blank lines and `#` comments are skipped.
    pub fn add_file_text(&mut self, text: &str, file_name: &str) -> Result<(), ImageMapError> {
        for (index, line) in text.lines().enumerate() {
            let line = line
                .split_once('#')
                .map_or(line, |(before, _)| before)
                .trim();
            if line.is_empty() {
                continue;
            }
            self.add(line, &format!("{file_name}:{}", index + 1))?;
        }
        Ok(())
    }

    /// The image to run for `image`: its mapping, or itself.
    pub fn resolve<'a>(&'a self, image: &'a str) -> &'a str {
        self.entries
            .get(&normalize(image))
            .map_or(image, String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn normalize(image: &str) -> String {
    let image = image.trim();
    let image = image.strip_prefix("docker.io/").unwrap_or(image);
    let image = image.strip_prefix("index.docker.io/").unwrap_or(image);
    image.strip_prefix("library/").unwrap_or(image).to_owned()
}

/// Makes `image` present according to `policy` and returns the `PATH` its config sets.
pub(super) async fn ensure(
    engine: &ContainerEngine,
    image: &str,
    policy: PullPolicy,
) -> Result<String, String> {
    if image.trim().is_empty() {
        return Err("the step names no image".to_owned());
    }
    let present = inspect_path(engine, image).await?;
    let pulled = match (policy, &present) {
        (PullPolicy::Never, None) => {
            return Err(format!(
                "the image `{image}` is not present and its pull policy is Never; build or load it (`docker load`, `podman import`), or map it to a local image with --image-map {image}=LOCAL"
            ))
        }
        (PullPolicy::Never, Some(_)) | (PullPolicy::IfNotPresent, Some(_)) => return Ok(present.unwrap_or_default()),
        (PullPolicy::Always, _) | (PullPolicy::IfNotPresent, None) => pull(engine, image).await,
    };
    match (pulled, present) {
        (Ok(()), _) => Ok(inspect_path(engine, image)
            .await?
            .unwrap_or_else(|| DEFAULT_PATH.to_owned())),
        (Err(error), Some(path)) => {
            tracing::warn!(image, %error, "pulling failed; using the image that is present");
            Ok(path)
        }
        (Err(error), None) => Err(format!(
            "the image `{image}` is not present and pulling it failed: {error}; build or load it locally, or map it to a local image with --image-map {image}=LOCAL"
        )),
    }
}

/// The image's `PATH` when the engine has it, `None` when it does not.
async fn inspect_path(engine: &ContainerEngine, image: &str) -> Result<Option<String>, String> {
    let inspected = tokio::time::timeout(API_CALL_TIMEOUT, engine.docker.inspect_image(image))
        .await
        .map_err(|_| format!("inspecting the image `{image}` timed out"))?;
    match inspected {
        Ok(inspected) => Ok(Some(
            inspected
                .config
                .and_then(|c| c.env)
                .unwrap_or_default()
                .iter()
                .find_map(|entry| entry.strip_prefix("PATH=").map(str::to_owned))
                .unwrap_or_else(|| DEFAULT_PATH.to_owned()),
        )),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(error) => Err(format!(
            "cannot inspect the image `{image}` at {}: {}",
            engine.host,
            describe(&error)
        )),
    }
}

async fn pull(engine: &ContainerEngine, image: &str) -> Result<(), String> {
    let (name, tag) = split_tag(image);
    let options = bollard::query_parameters::CreateImageOptions {
        from_image: Some(name.to_owned()),
        tag: Some(tag.to_owned()),
        ..Default::default()
    };
    tracing::info!(image, "pulling an image");
    let mut progress = engine.docker.create_image(Some(options), None, None);
    let pulling = async {
        while let Some(step) = progress.next().await {
            step.map_err(|e| describe(&e))?;
        }
        Ok::<(), String>(())
    };
    tokio::time::timeout(PULL_TIMEOUT, pulling)
        .await
        .map_err(|_| "the pull timed out".to_owned())?
}

/// `name[:tag]` or `name@digest`; the tag defaults to `latest`. A `:` before the last `/` is a
/// registry port, not a tag.
fn split_tag(image: &str) -> (&str, &str) {
    if let Some((name, digest)) = image.split_once('@') {
        return (name, digest);
    }
    let last_segment = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_segment..].rfind(':') {
        Some(colon) => (
            &image[..last_segment + colon],
            &image[last_segment + colon + 1..],
        ),
        None => (image, "latest"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_entries_match_with_and_without_docker_hub_prefixes() {
        let mut map = ImageMap::default();
        map.add("python:3.11=localhost/weir-python:3.11", "--image-map")
            .expect("valid");
        map.add_file_text(
            "# comment\n\n docker.io/library/alpine = localhost/mini # inline\n",
            "map.txt",
        )
        .expect("valid");
        assert_eq!(map.resolve("python:3.11"), "localhost/weir-python:3.11");
        assert_eq!(
            map.resolve("docker.io/library/python:3.11"),
            "localhost/weir-python:3.11"
        );
        assert_eq!(map.resolve("alpine"), "localhost/mini");
        assert_eq!(map.resolve("python:3.12"), "python:3.12");
        let error = map
            .add_file_text("ok=fine\nbroken\n", "map.txt")
            .expect_err("invalid");
        assert_eq!(error.location, "map.txt:2");
        assert!(map.add("=x", "flag").is_err() && map.add("x=", "flag").is_err());
    }

    #[test]
    fn tags_split_after_the_last_path_segment() {
        assert_eq!(split_tag("python:3.11"), ("python", "3.11"));
        assert_eq!(
            split_tag("localhost:5000/a/b"),
            ("localhost:5000/a/b", "latest")
        );
        assert_eq!(
            split_tag("localhost:5000/a/b:v1"),
            ("localhost:5000/a/b", "v1")
        );
        assert_eq!(split_tag("busybox@sha256:abc"), ("busybox", "sha256:abc"));
    }

    #[test]
    fn pull_policies_parse_in_any_case() {
        assert_eq!(PullPolicy::parse("Always"), Some(PullPolicy::Always));
        assert_eq!(
            PullPolicy::parse("IfNotPresent"),
            Some(PullPolicy::IfNotPresent)
        );
        assert_eq!(PullPolicy::parse("never"), Some(PullPolicy::Never));
        assert_eq!(PullPolicy::parse("sometimes"), None);
    }
}

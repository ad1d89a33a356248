//! Listing Weir's containers with a plain HTTP request: podman reports states (`stopped`) that
//! bollard's typed container list refuses, so the list is read as untyped JSON.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use super::RUN_LABEL;

/// Bytes of a list answer read at most.
const MAX_ANSWER_BYTES: u64 = 64 * 1024 * 1024;

/// Every container with the run label, as (container id, run id).
pub(super) async fn containers_by_run(
    host: &str,
    version: &str,
    timeout: Duration,
) -> Result<Vec<(String, String)>, String> {
    let filters = format!("{{\"label\":[\"{RUN_LABEL}\"]}}");
    let path = format!(
        "/v{version}/containers/json?all=1&filters={}",
        percent_encode(&filters)
    );
    let body = tokio::time::timeout(timeout, get(host, &path))
        .await
        .map_err(|_| "listing containers timed out".to_owned())??;
    let list: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| format!("unreadable container list: {e}"))?;
    Ok(list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|container| {
            let id = container.get("Id")?.as_str()?.to_owned();
            let run = container
                .get("Labels")?
                .get(RUN_LABEL)?
                .as_str()?
                .to_owned();
            Some((id, run))
        })
        .collect())
}

async fn get(host: &str, path: &str) -> Result<Vec<u8>, String> {
    let request = format!("GET {path} HTTP/1.0\r\nHost: docker\r\nConnection: close\r\n\r\n");
    if let Some(address) = host
        .strip_prefix("tcp://")
        .or_else(|| host.strip_prefix("http://"))
    {
        let stream = tokio::net::TcpStream::connect(address.trim_end_matches('/'))
            .await
            .map_err(|e| e.to_string())?;
        return exchange(stream, &request).await;
    }
    let socket = host.strip_prefix("unix://").unwrap_or(host);
    let stream = tokio::net::UnixStream::connect(socket)
        .await
        .map_err(|e| e.to_string())?;
    exchange(stream, &request).await
}

async fn exchange(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    request: &str,
) -> Result<Vec<u8>, String> {
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    (&mut stream)
        .take(MAX_ANSWER_BYTES)
        .read_to_end(&mut answer)
        .await
        .map_err(|e| e.to_string())?;
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no HTTP answer")?;
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let status = head.split(' ').nth(1).unwrap_or_default();
    if !status.starts_with('2') {
        return Err(format!(
            "the engine answered {}",
            head.lines().next().unwrap_or_default()
        ));
    }
    Ok(answer[split + 4..].to_vec())
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn filters_are_percent_encoded() {
        assert_eq!(
            super::percent_encode("{\"label\":[\"weir.run-id\"]}"),
            "%7B%22label%22%3A%5B%22weir.run-id%22%5D%7D"
        );
    }
}

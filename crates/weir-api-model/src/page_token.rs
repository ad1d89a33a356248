//! Page tokens: opaque to clients, base64 (URL-safe, unpadded) of JSON. A token remembers the
//! sort order and a fingerprint of the filter of the listing that made it, so that it cannot
//! be replayed against a different one.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::query::{QueryError, SortSpec};

/// Tokens longer than this are refused before decoding.
const MAX_PAGE_TOKEN_LEN: usize = 64 * 1024;

/// What a page token carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageToken {
    /// The sort order of the listing; `None` for the server's default.
    pub sort: Option<SortSpec>,
    /// [`filter_fingerprint`] of the listing's raw filter.
    pub filter_fingerprint: String,
    /// Where the next page starts, in the server's own terms (for keyset paging: the sort
    /// value and the primary key of the next row).
    pub cursor: serde_json::Value,
}

/// A short, stable digest of a `filter` query parameter, as sent: 64-bit FNV-1a in hex, and
/// the empty string for no filter. It only tells listings apart; it is no security boundary
/// (the server always applies the filter of the request, never one from a token).
pub fn filter_fingerprint(raw_filter: &str) -> String {
    if raw_filter.is_empty() {
        return String::new();
    }
    const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let digest = raw_filter.bytes().fold(FNV_OFFSET_BASIS, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME)
    });
    format!("{digest:016x}")
}

/// Writes a token for `next_page_token`.
pub fn encode_page_token(token: &PageToken) -> String {
    let json = serde_json::to_vec(token)
        .expect("a page token serializes: its fields are strings, booleans and JSON values");
    URL_SAFE_NO_PAD.encode(json)
}

/// Reads a `page_token` query parameter. Anything but a token from [`encode_page_token`] is
/// an error.
pub fn decode_page_token(page_token: &str) -> Result<PageToken, QueryError> {
    let invalid = |reason: String| QueryError::InvalidPageToken { reason };
    if page_token.is_empty() {
        return Err(invalid("it is empty".to_owned()));
    }
    if page_token.len() > MAX_PAGE_TOKEN_LEN {
        return Err(invalid(format!(
            "it is {} bytes long, more than {MAX_PAGE_TOKEN_LEN}",
            page_token.len()
        )));
    }
    let json = URL_SAFE_NO_PAD
        .decode(page_token)
        .map_err(|error| invalid(format!("not base64: {error}")))?;
    serde_json::from_slice(&json).map_err(|error| invalid(format!("not a page token: {error}")))
}

impl PageToken {
    /// Checks that this token may continue a listing asked for with `requested_sort` and
    /// `raw_filter`, and returns the sort order to use.
    ///
    /// As in KFP: with neither a sort order nor a filter in the request, the token's sort order
    /// is used; otherwise both must be the token's. Since a token keeps only a fingerprint of
    /// its filter, a token made with a filter needs that filter sent again.
    pub fn check_request(
        &self,
        requested_sort: Option<&SortSpec>,
        raw_filter: &str,
    ) -> Result<Option<SortSpec>, QueryError> {
        if requested_sort.is_none() && raw_filter.is_empty() {
            if !self.filter_fingerprint.is_empty() {
                return Err(QueryError::PageTokenNeedsFilter);
            }
            return Ok(self.sort.clone());
        }
        let same_sort = requested_sort == self.sort.as_ref();
        let same_filter = filter_fingerprint(raw_filter) == self.filter_fingerprint;
        if !(same_sort && same_filter) {
            return Err(QueryError::PageTokenMismatch);
        }
        Ok(self.sort.clone())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sample_token() -> PageToken {
        PageToken {
            sort: Some(SortSpec {
                field: "created_at".to_owned(),
                descending: true,
            }),
            filter_fingerprint: filter_fingerprint(r#"{"predicates":[]}"#),
            cursor: json!({"created_at": "2026-01-01T00:00:00Z", "run_id": "r-1"}),
        }
    }

    #[test]
    fn tokens_round_trip_and_are_url_safe() {
        let token = sample_token();
        let encoded = encode_page_token(&token);
        assert!(encoded
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'));
        assert_eq!(decode_page_token(&encoded), Ok(token));
    }

    #[test]
    fn garbage_tokens_are_refused() {
        for garbage in ["", "!!!", "e30", "bnVsbA", "AAAA", "eyJzb3J0IjpudWxsfQ=="] {
            let decoded = decode_page_token(garbage);
            assert!(
                matches!(decoded, Err(QueryError::InvalidPageToken { .. })),
                "{garbage:?} gave {decoded:?}"
            );
        }
        assert!(decode_page_token(&"A".repeat(MAX_PAGE_TOKEN_LEN + 1)).is_err());
    }

    #[test]
    fn fingerprints_tell_filters_apart() {
        assert_eq!(filter_fingerprint(""), "");
        assert_eq!(filter_fingerprint("a"), filter_fingerprint("a"));
        assert_ne!(filter_fingerprint("a"), filter_fingerprint("b"));
        assert_eq!(filter_fingerprint("a").len(), 16);
    }

    #[test]
    fn a_token_refuses_another_sort_or_filter() {
        let token = sample_token();
        let same_filter = r#"{"predicates":[]}"#;
        let same_sort = token.sort.clone();
        assert_eq!(
            token.check_request(same_sort.as_ref(), same_filter),
            Ok(same_sort.clone())
        );
        let ascending = SortSpec {
            field: "created_at".to_owned(),
            descending: false,
        };
        assert_eq!(
            token.check_request(Some(&ascending), same_filter),
            Err(QueryError::PageTokenMismatch)
        );
        assert_eq!(
            token.check_request(same_sort.as_ref(), r#"{"predicates": []}"#),
            Err(QueryError::PageTokenMismatch)
        );
        assert_eq!(
            token.check_request(None, same_filter),
            Err(QueryError::PageTokenMismatch)
        );
        assert_eq!(
            token.check_request(None, ""),
            Err(QueryError::PageTokenNeedsFilter)
        );
    }

    #[test]
    fn a_token_without_filter_gives_its_sort_to_a_bare_request() {
        let token = PageToken {
            filter_fingerprint: String::new(),
            ..sample_token()
        };
        assert_eq!(token.check_request(None, ""), Ok(token.sort.clone()));
    }
}

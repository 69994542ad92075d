//! The `X-Docker-Container-Path-Stat` header of a container archive's answers.

use crate::error::{decode, snippet, Error, Result};

/// What the daemon says of a path in a container (`X-Docker-Container-Path-Stat`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct PathStat {
    pub name: String,
    pub size: i64,
    /// Go's `os.FileMode` bits: permissions, plus 1<<31 for directories and 1<<27 for links.
    pub mode: u32,
    pub mtime: String,
    #[serde(rename = "linkTarget", default)]
    pub link_target: String,
}

impl PathStat {
    pub fn is_dir(&self) -> bool {
        self.mode & (1 << 31) != 0
    }

    pub fn is_symlink(&self) -> bool {
        self.mode & (1 << 27) != 0
    }

    /// Decodes the header value: standard base64 of JSON.
    pub fn from_header(operation: &'static str, value: &[u8]) -> Result<Self> {
        use base64::Engine;
        let json = base64::engine::general_purpose::STANDARD
            .decode(value)
            .map_err(|e| Error::Decode {
                operation,
                type_name: "PathStat",
                path: "X-Docker-Container-Path-Stat".into(),
                message: format!("not base64: {e}"),
                snippet: snippet(value),
            })?;
        decode(operation, &json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_stat_header_decodes_and_bad_headers_are_errors() {
        use base64::Engine;
        let json = br#"{"name":"tmp","size":4096,"mode":2147484159,"mtime":"2026-11-22T10:00:00Z","linkTarget":""}"#;
        let header = base64::engine::general_purpose::STANDARD.encode(json);
        let stat = PathStat::from_header("ContainerArchiveInfo", header.as_bytes()).unwrap();
        assert_eq!(stat.name, "tmp");
        assert!(stat.is_dir());
        assert!(!stat.is_symlink());
        assert_eq!(stat.mode & 0o777, 0o777);

        let not_base64 = PathStat::from_header("ContainerArchiveInfo", b"%%%").unwrap_err();
        assert!(not_base64.to_string().contains("not base64"), "{not_base64}");
        let truncated = base64::engine::general_purpose::STANDARD.encode(&json[..20]);
        let truncated = PathStat::from_header("ContainerArchiveInfo", truncated.as_bytes()).unwrap_err();
        assert!(truncated.to_string().contains("PathStat"), "{truncated}");
    }
}

//! Reading a `multipart/form-data` body (RFC 7578), the encoding browsers
//! use for forms with a file input. Only what the CSV import form sends is
//! supported: parts with a `Content-Disposition: form-data` header, a
//! `name` and, for the file, a `filename`. The whole body is in memory, so
//! the route that uses this sets a payload limit.

/// One field of the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    /// Set for a file input, empty when no file was chosen.
    pub filename: Option<String>,
    pub body: Vec<u8>,
}

/// Failure to read a multipart body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    #[error("the request is not multipart/form-data with a boundary")]
    NotMultipart,
    #[error("the form data ends early or its boundaries do not match")]
    Malformed,
    #[error("a part of the form data has no name")]
    Unnamed,
}

/// Returns the boundary of a `multipart/form-data` content type.
fn boundary(content_type: &str) -> Option<String> {
    let mut parameters = content_type.split(';');
    let media_type = parameters.next()?.trim();
    if !media_type.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    parameters
        .find_map(|parameter| {
            let (key, value) = parameter.split_once('=')?;
            key.trim().eq_ignore_ascii_case("boundary").then(|| value.trim().trim_matches('"').to_owned())
        })
        .filter(|boundary| !boundary.is_empty() && boundary.len() <= 70)
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > haystack.len() {
        return None;
    }
    haystack[from..].windows(needle.len()).position(|window| window == needle).map(|index| index + from)
}

/// Returns the `name` and `filename` parameters of a Content-Disposition
/// header value such as `form-data; name="file"; filename="a.csv"`.
fn disposition(value: &str) -> (Option<String>, Option<String>) {
    let mut name = None;
    let mut filename = None;
    for parameter in value.split(';').skip(1) {
        let Some((key, raw)) = parameter.split_once('=') else { continue };
        let text = raw.trim().trim_matches('"').replace("%22", "\"");
        match key.trim().to_ascii_lowercase().as_str() {
            "name" => name = Some(text),
            "filename" => filename = Some(text),
            _ => {}
        }
    }
    (name, filename)
}

/// Splits a body into its parts, in order.
pub fn parse(content_type: &str, body: &[u8]) -> Result<Vec<Part>, MultipartError> {
    let boundary = boundary(content_type).ok_or(MultipartError::NotMultipart)?;
    let delimiter = format!("--{boundary}").into_bytes();
    let next_delimiter = format!("\r\n--{boundary}").into_bytes();

    let mut position = find(body, &delimiter, 0).ok_or(MultipartError::Malformed)? + delimiter.len();
    let mut parts = Vec::new();
    loop {
        let rest = body.get(position..).ok_or(MultipartError::Malformed)?;
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        if !rest.starts_with(b"\r\n") {
            return Err(MultipartError::Malformed);
        }
        let headers_start = position + 2;
        let headers_end = find(body, b"\r\n\r\n", headers_start).ok_or(MultipartError::Malformed)?;
        let headers = String::from_utf8_lossy(&body[headers_start..headers_end]);
        let (mut name, mut filename) = (None, None);
        for line in headers.split("\r\n") {
            if let Some((header, value)) = line.split_once(':') {
                if header.trim().eq_ignore_ascii_case("content-disposition") {
                    (name, filename) = disposition(value);
                }
            }
        }
        let content_start = headers_end + 4;
        let content_end = find(body, &next_delimiter, content_start).ok_or(MultipartError::Malformed)?;
        parts.push(Part {
            name: name.ok_or(MultipartError::Unnamed)?,
            filename,
            body: body[content_start..content_end].to_vec(),
        });
        position = content_end + next_delimiter.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYPE: &str = "multipart/form-data; boundary=----XYZ";

    #[test]
    fn reads_fields_and_file() {
        let body = b"------XYZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nabc\r\n------XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"agents.csv\"\r\nContent-Type: text/csv\r\n\r\nid,name\r\n12,Asha\r\n\r\n------XYZ--\r\n";

        let parts = parse(TYPE, body).expect("valid body");

        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], Part { name: "csrf_token".into(), filename: None, body: b"abc".to_vec() });
        assert_eq!(parts[1].filename.as_deref(), Some("agents.csv"));
        assert_eq!(parts[1].body, b"id,name\r\n12,Asha\r\n".to_vec());
    }

    #[test]
    fn rejects_other_types_and_truncated_bodies() {
        assert_eq!(parse("application/x-www-form-urlencoded", b"a=b"), Err(MultipartError::NotMultipart));
        let truncated = b"------XYZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end";
        assert_eq!(parse(TYPE, truncated), Err(MultipartError::Malformed));
        let unnamed = b"------XYZ\r\nContent-Type: text/plain\r\n\r\nx\r\n------XYZ--";
        assert_eq!(parse(TYPE, unnamed), Err(MultipartError::Unnamed));
    }

    #[test]
    fn quoted_boundary_and_empty_form() {
        let parts = parse("multipart/form-data; boundary=\"b1\"", b"--b1--\r\n").expect("empty form");
        assert!(parts.is_empty());
    }
}

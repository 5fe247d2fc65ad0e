//! `multipart/form-data` (RFC 7578) as a browser sends a form with a file: the parts of a body
//! already read whole (within its limit), each with its field name. Enough for the console's
//! one upload; nested multiparts and transfer encodings are not accepted.

/// The most parts a form may have.
pub const MAX_PARTS: usize = 16;
/// The longest header block of one part, in bytes.
const MAX_PART_HEADER_BYTES: usize = 1024;

/// One field of a form.
#[derive(Debug, PartialEq, Eq)]
pub struct Part<'a> {
    pub name: String,
    pub body: &'a [u8],
}

/// The boundary a `Content-Type: multipart/form-data; boundary=…` names.
pub fn boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    let kind = params.next()?.trim();
    if !kind.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    let b = params.find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_owned())
    })?;
    // RFC 2046: 1 to 70 characters.
    (1..=70).contains(&b.len()).then_some(b)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The `name` of a part's `Content-Disposition: form-data; name="…"`.
fn field_name(headers: &str) -> Option<String> {
    let disposition = headers.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("content-disposition")
            .then_some(v)
    })?;
    disposition.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        (k.trim() == "name").then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// The parts of `body`, or `None` when it is not a well-formed form of at most [`MAX_PARTS`].
pub fn parse<'a>(boundary: &str, body: &'a [u8]) -> Option<Vec<Part<'a>>> {
    let delimiter = format!("--{boundary}");
    let next_delimiter = format!("\r\n--{boundary}");
    let mut rest = &body[find(body, delimiter.as_bytes())? + delimiter.len()..];
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Some(parts);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let header_end = find(rest, b"\r\n\r\n")?;
        if header_end > MAX_PART_HEADER_BYTES || parts.len() == MAX_PARTS {
            return None;
        }
        let headers = std::str::from_utf8(&rest[..header_end]).ok()?;
        let name = field_name(headers)?;
        let content = &rest[header_end + 4..];
        let end = find(content, next_delimiter.as_bytes())?;
        parts.push(Part {
            name,
            body: &content[..end],
        });
        rest = &content[end + next_delimiter.len()..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browsers_form_with_a_file_is_read_part_by_part() {
        let ct = "multipart/form-data; boundary=----WebKitFormBoundaryx7";
        let b = boundary(ct).unwrap();
        let body = "------WebKitFormBoundaryx7\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc\r\n\
                    ------WebKitFormBoundaryx7\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\n\
                    reference,kind\r\npos-1,earn\r\n\r\n------WebKitFormBoundaryx7--\r\n";
        let parts = parse(&b, body.as_bytes()).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(
            (parts[0].name.as_str(), parts[0].body),
            ("csrf", &b"abc"[..])
        );
        assert_eq!(parts[1].name, "file");
        // The file's own line ends are kept; only the delimiter's CRLF is not the file's.
        assert_eq!(parts[1].body, b"reference,kind\r\npos-1,earn\r\n");
    }

    #[test]
    fn malformed_forms_are_refused() {
        assert_eq!(boundary("application/x-www-form-urlencoded"), None);
        assert_eq!(boundary("multipart/form-data"), None);
        assert_eq!(
            boundary(&format!("multipart/form-data; boundary={}", "x".repeat(71))),
            None
        );
        // Cut short: no closing delimiter.
        let cut = "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue";
        assert_eq!(parse("b", cut.as_bytes()), None);
        // A part without a name.
        let nameless = "--b\r\nContent-Type: text/plain\r\n\r\nv\r\n--b--";
        assert_eq!(parse("b", nameless.as_bytes()), None);
        // Too many parts.
        let many: String = (0..=MAX_PARTS)
            .map(|i| format!("--b\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\nv\r\n"))
            .collect::<String>()
            + "--b--";
        assert_eq!(parse("b", many.as_bytes()), None);
        let empty = "--b--\r\n";
        assert_eq!(parse("b", empty.as_bytes()), Some(vec![]));
    }
}

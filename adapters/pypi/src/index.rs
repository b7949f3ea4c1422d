//! The simple repository API's project page: PEP 503 HTML (with PEP 592 `data-yanked`)
//! and PEP 691 JSON, reduced to the files it lists.

use ferry_ports::{PortError, PortResult, Sha256Digest};
use serde::Deserialize;
use std::collections::BTreeMap;
use url::Url;

/// The media type of the PEP 691 JSON form.
pub(crate) const JSON_MEDIA_TYPE: &str = "application/vnd.pypi.simple.v1+json";

/// What the client accepts, best first (as pip asks).
pub(crate) const ACCEPT: &str = "application/vnd.pypi.simple.v1+json, \
    application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

/// One file a project page lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexFile {
    pub(crate) file_name: String,
    /// Where to download it (fragment removed).
    pub(crate) url: Url,
    /// Its SHA-256, when the index gives one.
    pub(crate) sha256: Option<Sha256Digest>,
    /// Its size, when the index gives one (PEP 700).
    pub(crate) size: Option<u64>,
    /// `Some(reason)` when yanked (the reason may be empty).
    pub(crate) yanked: Option<String>,
}

/// Parse a project page served as `content_type` from `page_url` (the URL after
/// redirects, against which relative links resolve).
pub(crate) fn parse_page(
    body: &str,
    content_type: &str,
    page_url: &Url,
) -> PortResult<Vec<IndexFile>> {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media == JSON_MEDIA_TYPE {
        parse_json(body, page_url)
    } else {
        Ok(parse_html(body, page_url))
    }
}

#[derive(Deserialize)]
struct JsonPage {
    files: Vec<JsonFile>,
}

#[derive(Deserialize)]
struct JsonFile {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: BTreeMap<String, String>,
    #[serde(default)]
    yanked: Option<JsonYanked>,
    #[serde(default)]
    size: Option<u64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum JsonYanked {
    Flag(bool),
    Reason(String),
}

fn parse_json(body: &str, page_url: &Url) -> PortResult<Vec<IndexFile>> {
    let page: JsonPage = serde_json::from_str(body).map_err(|e| {
        PortError::other(format!(
            "the index page {page_url} is not valid PEP 691 JSON: {e}"
        ))
    })?;
    page.files
        .into_iter()
        .map(|f| {
            let mut url = page_url.join(&f.url).map_err(|e| {
                PortError::other(format!(
                    "the index page {page_url} links {} to an invalid URL: {e}",
                    f.filename
                ))
            })?;
            url.set_fragment(None);
            let sha256 = f
                .hashes
                .get("sha256")
                .and_then(|h| Sha256Digest::parse(h).ok());
            let yanked = match f.yanked {
                None | Some(JsonYanked::Flag(false)) => None,
                Some(JsonYanked::Flag(true)) => Some(String::new()),
                Some(JsonYanked::Reason(r)) => Some(r),
            };
            Ok(IndexFile {
                file_name: f.filename,
                url,
                sha256,
                size: f.size,
                yanked,
            })
        })
        .collect()
}

/// The anchors of a PEP 503 page. Tolerant: a link whose URL does not parse is skipped.
pub(crate) fn parse_html(body: &str, page_url: &Url) -> Vec<IndexFile> {
    let mut base = page_url.clone();
    let mut files = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        rest = &rest[start..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let Some(tag) = Tag::parse(rest) else {
            rest = &rest[1..];
            continue;
        };
        rest = &rest[tag.len..];
        if tag.name.eq_ignore_ascii_case("base") {
            if let Some(b) = tag.attr("href").and_then(|h| page_url.join(h).ok()) {
                base = b;
            }
        } else if tag.name.eq_ignore_ascii_case("a") {
            let (text, consumed) = anchor_text(rest);
            rest = &rest[consumed..];
            if let Some(file) = tag
                .attr("href")
                .and_then(|href| link(&base, href, &text, &tag))
            {
                files.push(file);
            }
        }
    }
    files
}

fn link(base: &Url, href: &str, text: &str, tag: &Tag) -> Option<IndexFile> {
    let mut url = base.join(href).ok()?;
    let sha256 = url.fragment().and_then(|fragment| {
        fragment
            .split('&')
            .find_map(|kv| kv.strip_prefix("sha256="))
            .and_then(|hex| Sha256Digest::parse(hex).ok())
    });
    url.set_fragment(None);
    // PEP 503: the text is the file name; fall back to the URL's last segment.
    let text = text.trim();
    let file_name = if text.is_empty() {
        let last = url.path_segments()?.next_back()?.to_string();
        percent_decode(&last)
    } else {
        text.to_string()
    };
    Some(IndexFile {
        file_name,
        url,
        sha256,
        size: None,
        yanked: tag.attr("data-yanked").map(str::to_string),
    })
}

/// The text of an anchor (tags inside dropped, entities decoded) and the bytes up to
/// and including `</a>`.
fn anchor_text(rest: &str) -> (String, usize) {
    let end = find_ci(rest, "</a").unwrap_or(rest.len());
    let close = rest[end..].find('>').map_or(rest.len(), |i| end + i + 1);
    let mut raw = String::new();
    let mut inside = &rest[..end];
    while let Some(lt) = inside.find('<') {
        raw.push_str(&inside[..lt]);
        inside = inside[lt..]
            .find('>')
            .map_or("", |gt| &inside[lt + gt + 1..]);
    }
    raw.push_str(inside);
    (decode_entities(&raw), close)
}

fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// An opening tag with its attributes (values entity-decoded).
struct Tag {
    name: String,
    attrs: Vec<(String, String)>,
    /// Bytes from `<` to `>` inclusive.
    len: usize,
}

impl Tag {
    fn parse(s: &str) -> Option<Tag> {
        let b = s.as_bytes();
        let mut i = 1;
        let name_start = i;
        while i < b.len() && b[i].is_ascii_alphanumeric() {
            i += 1;
        }
        if i == name_start {
            return None;
        }
        let name = s[name_start..i].to_string();
        let mut attrs = Vec::new();
        loop {
            while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
                i += 1;
            }
            if i >= b.len() {
                return None;
            }
            if b[i] == b'>' {
                return Some(Tag {
                    name,
                    attrs,
                    len: i + 1,
                });
            }
            let key_start = i;
            while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'>' | b'/')
            {
                i += 1;
            }
            let key = s[key_start..i].to_ascii_lowercase();
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            let mut value = String::new();
            if i < b.len() && b[i] == b'=' {
                i += 1;
                while i < b.len() && b[i].is_ascii_whitespace() {
                    i += 1;
                }
                if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                    let quote = b[i];
                    let v_start = i + 1;
                    let v_end = v_start + b[v_start..].iter().position(|&c| c == quote)?;
                    value = decode_entities(&s[v_start..v_end]);
                    i = v_end + 1;
                } else {
                    let v_start = i;
                    while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                        i += 1;
                    }
                    value = decode_entities(&s[v_start..i]);
                }
            }
            if !key.is_empty() {
                attrs.push((key, value));
            }
        }
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Decode the character references an index page uses (`&amp;`, `&#39;`, `&#x27;`…).
pub(crate) fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest[..rest.len().min(12)].find(';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Url {
        Url::parse("https://example.test/simple/foo/").expect("valid")
    }

    const HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn reads_pypiserver_and_pypi_style_html() {
        let html = format!(
            r#"<!DOCTYPE html><html><body><h1>Links for foo</h1>
            <!-- <a href="commented-1.0.tar.gz">commented-1.0.tar.gz</a> -->
            <a href="../../packages/foo-1.0-py3-none-any.whl#sha256={HEX}">foo-1.0-py3-none-any.whl</a><br>
            <A HREF='https://files.example.test/f/foo-1.1.tar.gz#md5=abc' data-requires-python="&gt;=3.8">foo-1.1.tar.gz</A>
            <a href="foo-0.9.tar.gz#sha256={HEX}" data-yanked="broken &amp; bad">foo-0.9.tar.gz</a>
            <a href="foo-0.8.zip" data-yanked>foo-0.8.zip</a>
            <a href="/x/foo-0.7.tar.gz"></a>
            </body></html>"#
        );
        let files = parse_page(&html, "text/html; charset=utf-8", &page()).expect("parses");
        let names: Vec<_> = files.iter().map(|f| f.file_name.as_str()).collect();
        assert_eq!(
            names,
            [
                "foo-1.0-py3-none-any.whl",
                "foo-1.1.tar.gz",
                "foo-0.9.tar.gz",
                "foo-0.8.zip",
                "foo-0.7.tar.gz"
            ]
        );
        assert_eq!(
            files[0].url.as_str(),
            "https://example.test/packages/foo-1.0-py3-none-any.whl"
        );
        assert_eq!(
            files[0].sha256,
            Some(Sha256Digest::parse(HEX).expect("hex"))
        );
        assert_eq!(files[0].yanked, None);
        assert_eq!(files[1].sha256, None, "md5 only: no sha256");
        assert_eq!(
            files[1].url.as_str(),
            "https://files.example.test/f/foo-1.1.tar.gz"
        );
        assert_eq!(files[2].yanked.as_deref(), Some("broken & bad"));
        assert_eq!(files[3].yanked.as_deref(), Some(""));
        assert_eq!(
            files[4].url.as_str(),
            "https://example.test/x/foo-0.7.tar.gz"
        );
    }

    #[test]
    fn honours_base_href() {
        let html = r#"<html><head><base href="https://cdn.example.test/pkgs/"></head>
            <body><a href="foo-1.0.tar.gz">foo-1.0.tar.gz</a></body></html>"#;
        let files = parse_html(html, &page());
        assert_eq!(
            files[0].url.as_str(),
            "https://cdn.example.test/pkgs/foo-1.0.tar.gz"
        );
    }

    #[test]
    fn reads_pep_691_json() {
        let json = format!(
            r#"{{"meta": {{"api-version": "1.1"}}, "name": "foo", "versions": ["1.0"],
               "files": [
                 {{"filename": "foo-1.0.tar.gz", "url": "https://files.example.test/foo-1.0.tar.gz",
                   "hashes": {{"sha256": "{HEX}"}}, "size": 12, "yanked": false}},
                 {{"filename": "foo-0.9.tar.gz", "url": "../../f/foo-0.9.tar.gz#sha256={HEX}",
                   "hashes": {{}}, "yanked": "security hole"}},
                 {{"filename": "foo-0.8.tar.gz", "url": "foo-0.8.tar.gz", "hashes": {{}}, "yanked": true}}
               ]}}"#
        );
        let files =
            parse_page(&json, "application/vnd.pypi.simple.v1+json", &page()).expect("json");
        assert_eq!(files.len(), 3);
        assert_eq!(files[0].size, Some(12));
        assert_eq!(
            files[0].sha256,
            Some(Sha256Digest::parse(HEX).expect("hex"))
        );
        assert_eq!(files[0].yanked, None);
        assert_eq!(
            files[1].url.as_str(),
            "https://example.test/f/foo-0.9.tar.gz"
        );
        assert_eq!(files[1].sha256, None, "JSON digests come from `hashes`");
        assert_eq!(files[1].yanked.as_deref(), Some("security hole"));
        assert_eq!(files[2].yanked.as_deref(), Some(""));
        let err = parse_page("{", JSON_MEDIA_TYPE, &page()).expect_err("bad json");
        assert_eq!(err.kind(), ferry_ports::ErrorKind::Other);
    }

    #[test]
    fn decodes_entities() {
        assert_eq!(
            decode_entities("a&amp;b&#39;c&#x27;d&unknown;e&"),
            "a&b'c'd&unknown;e&"
        );
        assert_eq!(percent_decode("foo%2B1.0.tar.gz"), "foo+1.0.tar.gz");
        assert_eq!(percent_decode("100%"), "100%");
    }
}

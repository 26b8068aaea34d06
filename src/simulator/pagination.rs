//! GitHub's offset pagination: `page` / `per_page` parsing and the `Link`
//! header (<https://docs.github.com/rest/using-the-rest-api/using-pagination-in-the-rest-api>).

/// `per_page` never exceeds 100 on GitHub; larger values are clamped.
pub const MAX_PER_PAGE: usize = 100;

/// A page request after defaults and clamping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// 1-based page number.
    pub page: usize,
    /// Items per page, 1..=100.
    pub per_page: usize,
}

impl PageRequest {
    /// The item range of this page within `total` items.
    pub fn range(&self, total: usize) -> std::ops::Range<usize> {
        let start = (self.page - 1).saturating_mul(self.per_page).min(total);
        let end = start.saturating_add(self.per_page).min(total);
        start..end
    }

    /// The last page number for `total` items (1 when there are none).
    pub fn last_page(&self, total: usize) -> usize {
        total.div_ceil(self.per_page).max(1)
    }
}

/// Why a pagination parameter was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid request.\n\nFor '{param}', {value:?} is not an integer.")]
pub struct PageParamError {
    /// `page` or `per_page`.
    pub param: &'static str,
    /// The value sent.
    pub value: String,
}

/// Split a raw query string into raw `(key, value)` pairs, order kept.
pub fn query_pairs(query: Option<&str>) -> Vec<(&str, &str)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect()
}

/// Decode `%XX` escapes and `+` in a query value.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse `page` and `per_page`. Missing or empty values take the defaults
/// (page 1, `default_per_page`); `page` below 1 is page 1 and `per_page`
/// below 1 is the default (GitHub ignores such values); `per_page` above 100
/// is clamped to 100. A value that is not an integer is an error, which the
/// server answers with 422 as GitHub's request validation does.
pub fn parse_page_request(
    query: Option<&str>,
    default_per_page: usize,
) -> Result<PageRequest, PageParamError> {
    let mut req = PageRequest {
        page: 1,
        per_page: default_per_page,
    };
    for (k, v) in query_pairs(query) {
        let param = match k {
            "page" => "page",
            "per_page" => "per_page",
            _ => continue,
        };
        let v = percent_decode(v);
        if v.is_empty() {
            continue;
        }
        let n: i64 = v.trim().parse().map_err(|_| PageParamError {
            param,
            value: v.clone(),
        })?;
        match param {
            "page" => req.page = usize::try_from(n).unwrap_or(1).max(1),
            _ if n < 1 => req.per_page = default_per_page,
            _ => req.per_page = usize::try_from(n).unwrap_or(MAX_PER_PAGE).min(MAX_PER_PAGE),
        }
    }
    Ok(req)
}

/// GitHub's `Link` header for a page: `prev`, `next`, `last`, `first`, in
/// that order, each only when it applies (`next`/`last` not on the last page,
/// `prev`/`first` not on the first). `None` when everything fits on one page.
/// URLs are absolute on `base`, keep every query parameter but `page` as
/// sent (so `per_page` survives), and append `page=N`.
pub fn link_header(
    base: &str,
    path: &str,
    query: Option<&str>,
    page: usize,
    last_page: usize,
) -> Option<String> {
    if last_page <= 1 && page <= 1 {
        return None;
    }
    let kept: Vec<String> = query_pairs(query)
        .into_iter()
        .filter(|(k, _)| *k != "page")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let url = |n: usize| {
        let mut q = kept.clone();
        q.push(format!("page={n}"));
        format!("<{base}{path}?{}>", q.join("&"))
    };
    let mut rels = Vec::new();
    if page > 1 {
        rels.push(format!("{}; rel=\"prev\"", url(page - 1)));
    }
    if page < last_page {
        rels.push(format!("{}; rel=\"next\"", url(page + 1)));
        rels.push(format!("{}; rel=\"last\"", url(last_page)));
    }
    if page > 1 {
        rels.push(format!("{}; rel=\"first\"", url(1)));
    }
    Some(rels.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_clamping() {
        assert_eq!(
            parse_page_request(None, 50),
            Ok(PageRequest {
                page: 1,
                per_page: 50
            })
        );
        let r = parse_page_request(Some("per_page=500&page=3"), 50).unwrap();
        assert_eq!((r.page, r.per_page), (3, 100));
        let r = parse_page_request(Some("page=0&per_page=0"), 30).unwrap();
        assert_eq!((r.page, r.per_page), (1, 30));
        let r = parse_page_request(Some("page=-4&per_page="), 30).unwrap();
        assert_eq!((r.page, r.per_page), (1, 30));
        let e = parse_page_request(Some("page=abc"), 50).unwrap_err();
        assert_eq!(e.param, "page");
    }

    #[test]
    fn ranges() {
        let r = PageRequest {
            page: 2,
            per_page: 50,
        };
        assert_eq!(r.range(51), 50..51);
        assert_eq!(r.range(10), 10..10);
        assert_eq!(r.last_page(0), 1);
        assert_eq!(r.last_page(100), 2);
        assert_eq!(r.last_page(101), 3);
    }

    #[test]
    fn link_first_middle_last() {
        let b = "http://127.0.0.1:1";
        let p = "/orgs/acme/copilot/billing/seats";
        assert_eq!(link_header(b, p, None, 1, 1), None);
        assert_eq!(
            link_header(b, p, Some("per_page=100"), 1, 3).unwrap(),
            "<http://127.0.0.1:1/orgs/acme/copilot/billing/seats?per_page=100&page=2>; rel=\"next\", \
             <http://127.0.0.1:1/orgs/acme/copilot/billing/seats?per_page=100&page=3>; rel=\"last\""
        );
        assert_eq!(
            link_header(b, p, Some("page=2&per_page=100"), 2, 3).unwrap(),
            "<http://127.0.0.1:1/orgs/acme/copilot/billing/seats?per_page=100&page=1>; rel=\"prev\", \
             <http://127.0.0.1:1/orgs/acme/copilot/billing/seats?per_page=100&page=3>; rel=\"next\", \
             <http://127.0.0.1:1/orgs/acme/copilot/billing/seats?per_page=100&page=3>; rel=\"last\", \
             <http://127.0.0.1:1/orgs/acme/copilot/billing/seats?per_page=100&page=1>; rel=\"first\""
        );
        assert_eq!(
            link_header(b, p, Some("page=3"), 3, 3).unwrap(),
            "<http://127.0.0.1:1/orgs/acme/copilot/billing/seats?page=2>; rel=\"prev\", \
             <http://127.0.0.1:1/orgs/acme/copilot/billing/seats?page=1>; rel=\"first\""
        );
    }

    #[test]
    fn percent() {
        assert_eq!(percent_decode("refs%2Fheads%2Fmain"), "refs/heads/main");
        assert_eq!(percent_decode("a+b%"), "a b%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}

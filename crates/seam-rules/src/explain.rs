//! Explanation templates: plain text with `{field.name}` placeholders; `{{` and `}}` are
//! literal braces.

/// Renders `template`, replacing each `{name}` with `lookup(name)`; names it cannot find
/// render as `?`. A `{` without its `}` is kept as written.
pub fn render_explanation(template: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut rendered = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(brace) = rest.find(['{', '}']) {
        let (before, from_brace) = rest.split_at(brace);
        rendered.push_str(before);
        if let Some(after) = from_brace.strip_prefix("{{") {
            rendered.push('{');
            rest = after;
        } else if let Some(after) = from_brace.strip_prefix("}}") {
            rendered.push('}');
            rest = after;
        } else if let Some(after) = from_brace.strip_prefix('{') {
            match after.find('}') {
                Some(end) => {
                    let name = after.get(..end).unwrap_or_default().trim();
                    match lookup(name) {
                        Some(value) => rendered.push_str(&value),
                        None => rendered.push('?'),
                    }
                    rest = after.get(end + 1..).unwrap_or_default();
                }
                None => {
                    rendered.push_str(from_brace);
                    rest = "";
                }
            }
        } else {
            // A lone `}`.
            rendered.push('}');
            rest = from_brace.get(1..).unwrap_or_default();
        }
    }
    rendered.push_str(rest);
    rendered
}

/// Checks a template at compile time: every `{` opens a non-empty placeholder that closes.
pub(crate) fn check_template(template: &str) -> Result<(), String> {
    let mut rest = template;
    while let Some(brace) = rest.find('{') {
        let from_brace = rest.get(brace..).unwrap_or_default();
        if let Some(after) = from_brace.strip_prefix("{{") {
            rest = after;
            continue;
        }
        let after = from_brace.get(1..).unwrap_or_default();
        let Some(end) = after.find('}') else {
            return Err("`{` without a closing `}`".to_owned());
        };
        let name = after.get(..end).unwrap_or_default();
        if name.trim().is_empty() || name.contains('{') {
            return Err(format!("bad placeholder `{{{name}}}`"));
        }
        rest = after.get(end + 1..).unwrap_or_default();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<String> {
        match name {
            "person.name" => Some("Ada".to_owned()),
            "zone.name" => Some("Lab 3".to_owned()),
            _ => None,
        }
    }

    #[test]
    fn placeholders_are_replaced_and_unknown_ones_are_marked() {
        assert_eq!(
            render_explanation(
                "{person.name} signed in from {geo.country} while in {zone.name}",
                lookup
            ),
            "Ada signed in from ? while in Lab 3"
        );
        assert_eq!(
            render_explanation("{{literal}} {person.name}", lookup),
            "{literal} Ada"
        );
        assert_eq!(render_explanation("open { brace", lookup), "open { brace");
        assert_eq!(render_explanation("close } brace", lookup), "close } brace");
        assert_eq!(render_explanation("", lookup), "");
        assert_eq!(render_explanation("é{ person.name }ü", lookup), "éAdaü");
    }

    #[test]
    fn templates_are_checked() {
        assert!(check_template("{a} and {b.c} {{x}}").is_ok());
        assert!(check_template("{a").is_err());
        assert!(check_template("{}").is_err());
        assert!(check_template("{a{b}").is_err());
    }
}

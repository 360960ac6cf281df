//! Explanation templates: plain text with `{field.name}` placeholders; `{{` and `}}` are
//! literal braces. A placeholder may name a format after a bar, for people to read numbers and
//! words: `{match.count|bytes}` (734003200 → "700 MiB"), `{presence.age_s|duration}` (seconds:
//! 2400 → "40 min"), `{activity|words}` (door_used → "door used").

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
                    let placeholder = after.get(..end).unwrap_or_default();
                    let (name, format) = split_format(placeholder);
                    match lookup(name) {
                        Some(value) => rendered.push_str(&format.apply(value)),
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

/// How a placeholder's value is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    AsIs,
    /// A number of bytes in binary units.
    Bytes,
    /// A number of seconds in hours, minutes and seconds.
    Duration,
    /// A vocabulary word with spaces for underscores.
    Words,
}

/// The field name of a placeholder and its format (`name|format`, spaces allowed).
fn split_format(placeholder: &str) -> (&str, Format) {
    let Some((name, format)) = placeholder.split_once('|') else {
        return (placeholder.trim(), Format::AsIs);
    };
    let format = match format.trim() {
        "bytes" => Format::Bytes,
        "duration" => Format::Duration,
        "words" => Format::Words,
        _ => Format::AsIs,
    };
    (name.trim(), format)
}

impl Format {
    fn apply(self, value: String) -> String {
        match self {
            Format::AsIs => value,
            Format::Bytes => value
                .trim()
                .parse::<f64>()
                .map_or(value.clone(), human_bytes),
            Format::Duration => value
                .trim()
                .parse::<f64>()
                .map_or(value.clone(), human_duration),
            Format::Words => value.replace('_', " "),
        }
    }
}

/// 734003200 → "700 MiB"; one decimal below ten units.
fn human_bytes(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes.abs() < 1024.0 {
        return format!("{bytes:.0} bytes");
    }
    let mut value = bytes / 1024.0;
    let mut unit = UNITS[0];
    for next in UNITS.iter().skip(1) {
        if value.abs() < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    if value.abs() < 10.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.0} {unit}")
    }
}

/// 2400 → "40 min", 5000 → "1 h 23 min", 42 → "42 s".
fn human_duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return format!("{seconds} s");
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "finite, non-negative, rounded"
    )]
    let total = seconds.round() as u64;
    match total {
        0..60 => format!("{total} s"),
        60..3600 => format!("{} min", total / 60),
        _ => {
            let minutes = (total % 3600) / 60;
            if minutes == 0 {
                format!("{} h", total / 3600)
            } else {
                format!("{} h {minutes} min", total / 3600)
            }
        }
    }
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
        if let Some((_, format)) = name.split_once('|')
            && !matches!(format.trim(), "bytes" | "duration" | "words")
        {
            return Err(format!(
                "unknown format `{}` in `{{{name}}}`: bytes, duration or words",
                format.trim()
            ));
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
    fn formats_make_numbers_and_words_readable() {
        let lookup = |name: &str| match name {
            "size" => Some("734003200".to_owned()),
            "small" => Some("5200000".to_owned()),
            "age" => Some("2400".to_owned()),
            "long" => Some("5000".to_owned()),
            "word" => Some("door_used".to_owned()),
            "text" => Some("n/a".to_owned()),
            _ => None,
        };
        let show = |template: &str| render_explanation(template, lookup);
        assert_eq!(show("{size|bytes}"), "700 MiB");
        assert_eq!(show("{small | bytes}"), "5.0 MiB");
        assert_eq!(show("{age|duration}"), "40 min");
        assert_eq!(show("{long|duration}"), "1 h 23 min");
        assert_eq!(show("{word|words}"), "door used");
        assert_eq!(show("{text|bytes}"), "n/a", "not a number: as it is");
        assert_eq!(show("{missing|bytes}"), "?");
        assert!(check_template("{size|bytes} {age|duration}").is_ok());
        assert!(check_template("{size|megabytes}").is_err());
    }

    #[test]
    fn templates_are_checked() {
        assert!(check_template("{a} and {b.c} {{x}}").is_ok());
        assert!(check_template("{a").is_err());
        assert!(check_template("{}").is_err());
        assert!(check_template("{a{b}").is_err());
    }
}

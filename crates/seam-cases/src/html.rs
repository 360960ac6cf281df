//! HTML for the readable reports (a case's, leadership's): escaping, and tables whose every
//! cell is escaped here.

/// Escapes text for HTML content and quoted attribute values; control characters other than
/// line breaks and tabs become U+FFFD (they would only confuse a reader).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A table with a header row, or "None." without rows; `class_of` gives a column's cells a
/// class.
pub fn table(
    out: &mut String,
    headers: &[&str],
    rows: &[Vec<String>],
    class_of: &dyn Fn(usize) -> Option<&'static str>,
) {
    if rows.is_empty() {
        out.push_str("<p class=\"none\">None.</p>\n");
        return;
    }
    out.push_str("<table>\n<thead><tr>");
    for header in headers {
        out.push_str(&format!("<th>{}</th>", escape(header)));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for (column, cell) in row.iter().enumerate() {
            match class_of(column) {
                Some(class) => {
                    out.push_str(&format!("<td class=\"{class}\">{}</td>", escape(cell)))
                }
                None => out.push_str(&format!("<td>{}</td>", escape(cell))),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_in_cells_and_headers() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\"\u{7}"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;\u{fffd}"
        );
        let mut out = String::new();
        table(&mut out, &["<h>"], &[vec!["<b>".to_string()]], &|_| {
            Some("mono")
        });
        assert!(
            out.contains("<th>&lt;h&gt;</th>") && out.contains("<td class=\"mono\">&lt;b&gt;</td>")
        );
        let mut none = String::new();
        table(&mut none, &["a"], &[], &|_| None);
        assert!(none.contains("None."));
    }
}

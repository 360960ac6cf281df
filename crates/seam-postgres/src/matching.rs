//! Finding needles on the server: every form of every needle ([`Needles::forms`]) is a `bytea`
//! parameter, and a column holds a needle where `position(form IN column) > 0` for one of them.
//!
//! `position` on `bytea` compares bytes, whatever they are and whatever the database's encoding
//! or collation: the contract's byte-substring match. Rows stay on the server, which matters
//! for a server across a network, and the needles never enter the SQL text, so neither a
//! statement log without parameters nor `pg_stat_statements` records them.

use postgres::types::ToSql;
use seam_store::Needles;

/// The needle forms of one request, bound as parameters `$1..$n` of the queries that use them.
pub(crate) struct NeedleParams {
    forms: Vec<Vec<u8>>,
}

impl NeedleParams {
    pub(crate) fn new(needles: &Needles) -> NeedleParams {
        NeedleParams {
            forms: needles
                .forms()
                .map(|form| form.as_bytes().to_vec())
                .collect(),
        }
    }

    /// The number of a query's first parameter of its own, after the forms.
    pub(crate) fn next(&self) -> usize {
        self.forms.len() + 1
    }

    /// SQL that is true where `column` holds a form; NULL where the column is NULL.
    pub(crate) fn held_by(&self, column: &str) -> String {
        if self.forms.is_empty() {
            return "false".to_owned();
        }
        let tests: Vec<String> = (1..=self.forms.len())
            .map(|number| format!("position(${number}::bytea IN {column}) > 0"))
            .collect();
        format!("({})", tests.join(" OR "))
    }

    /// SQL that is true where any of `columns` holds a form.
    pub(crate) fn held_by_any(&self, columns: &[&str]) -> String {
        let tests: Vec<String> = columns.iter().map(|column| self.held_by(column)).collect();
        format!("({})", tests.join(" OR "))
    }

    /// The forms, then `rest`: a query's parameters in order.
    pub(crate) fn with<'a>(
        &'a self,
        rest: &[&'a (dyn ToSql + Sync)],
    ) -> Vec<&'a (dyn ToSql + Sync)> {
        let mut values: Vec<&(dyn ToSql + Sync)> =
            Vec::with_capacity(self.forms.len() + rest.len());
        values.extend(self.forms.iter().map(|form| form as &(dyn ToSql + Sync)));
        values.extend_from_slice(rest);
        values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_is_a_parameter_and_none_is_in_the_text() {
        let needles = Needles::new(&[r"CORP\ann".to_owned(), "4411".to_owned()]).unwrap();
        let params = NeedleParams::new(&needles);
        // CORP\ann, CORP\\ann, CORP\\\\ann, 4411.
        assert_eq!(params.next(), 5);
        let sql = params.held_by_any(&["uid", "json"]);
        assert!(sql.contains("position($4::bytea IN json) > 0"), "{sql}");
        assert!(!sql.contains("ann") && !sql.contains("4411"));
        assert_eq!(params.with(&[&1_i64]).len(), 5);
    }
}

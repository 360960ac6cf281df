//! Words a person typed, checked against the words known: a suggestion for a slip.

/// "; did you mean `x`?" for the closest candidate within a few edits, or nothing.
pub fn did_you_mean<'c>(value: &str, candidates: impl Iterator<Item = &'c str>) -> String {
    let budget = (value.chars().count() / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let distance = edit_distance(value, candidate);
        let closer = best.is_none_or(|best| (distance, candidate) < best);
        if distance <= budget && closer {
            best = Some((distance, candidate));
        }
    }
    best.map_or(String::new(), |(_, candidate)| {
        format!("; did you mean `{candidate}`?")
    })
}

/// Edit distance over characters, counting a swap of two neighbours as one edit (optimal
/// string alignment): typing slips are mostly of these kinds.
pub fn edit_distance(left: &str, right: &str) -> usize {
    let left: Vec<char> = left.chars().collect();
    let right: Vec<char> = right.chars().collect();
    let width = right.len() + 1;
    // table[i * width + j]: the distance between the first i characters of left and j of right.
    let mut table = vec![0usize; (left.len() + 1) * width];
    let cell = |table: &[usize], i: usize, j: usize| {
        table.get(i * width + j).copied().unwrap_or(usize::MAX / 2)
    };
    for i in 0..=left.len() {
        for j in 0..=right.len() {
            let distance = if i == 0 || j == 0 {
                i.max(j)
            } else {
                let differ = usize::from(left.get(i - 1) != right.get(j - 1));
                let mut best = (cell(&table, i - 1, j) + 1)
                    .min(cell(&table, i, j - 1) + 1)
                    .min(cell(&table, i - 1, j - 1) + differ);
                let swapped = i > 1
                    && j > 1
                    && left.get(i - 1) == right.get(j - 2)
                    && left.get(i - 2) == right.get(j - 1);
                if swapped {
                    best = best.min(cell(&table, i - 2, j - 2) + 1);
                }
                best
            };
            if let Some(slot) = table.get_mut(i * width + j) {
                *slot = distance;
            }
        }
    }
    cell(&table, left.len(), right.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("hq-srvr", "hq-server"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
        assert_eq!(edit_distance("alcie", "alice"), 1);
        assert_eq!(edit_distance("ab", "ba"), 1);
    }

    #[test]
    fn suggestions_stay_close() {
        let ids = ["hq-server", "hq-office", "nyc-office"];
        assert_eq!(
            did_you_mean("hq-srvr", ids.into_iter()),
            "; did you mean `hq-server`?"
        );
        assert_eq!(
            did_you_mean("nyc-ofice", ids.into_iter()),
            "; did you mean `nyc-office`?"
        );
        assert_eq!(did_you_mean("warehouse", ids.into_iter()), "");
    }
}

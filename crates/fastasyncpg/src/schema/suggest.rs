//! "Did you mean" suggestions for unknown table and column names.

/// Up to five of `candidates` that look like `wanted`: same name ignoring case, a prefix or
/// substring match, or a small edit distance — closest first.
pub(crate) fn near_matches<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let w = wanted.to_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter_map(|c| {
            let l = c.to_lowercase();
            let d = edit_distance(&w, &l);
            let score = if l == w {
                0
            } else if !w.is_empty() && (l.starts_with(&w) || w.starts_with(&l)) {
                1
            } else if w.len() >= 3 && l.contains(&w) {
                2
            } else if d <= w.chars().count().div_ceil(3) {
                2 + d
            } else {
                return None;
            };
            Some((score, c))
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored
        .into_iter()
        .take(5)
        .map(|(_, c)| c.to_string())
        .collect()
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// `" (did you mean: a, b?)"`, or nothing when there is no suggestion.
pub(crate) fn did_you_mean(s: &[String]) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(" (did you mean: {}?)", s.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let names = ["artist", "album", "track", "playlist_track", "invoice"];
        assert_eq!(near_matches("artsit", names), vec!["artist"]);
        assert_eq!(near_matches("Artist", names), vec!["artist"]);
        assert_eq!(near_matches("track", names)[0], "track");
        assert!(near_matches("zzzzzz", names).is_empty());
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}

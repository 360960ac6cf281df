//! The detection `condition` expression: `and`, `or`, `not`, parentheses and quantifiers
//! (`1 of sel*`, `all of them`), with the usual precedence (not > and > or).

/// A condition over selection indices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Cond {
    Selection(usize),
    Not(Box<Cond>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    /// `N of ...` with N > 1.
    AtLeast(usize, Vec<Cond>),
}

/// Deepest nesting of parentheses and `not` accepted.
const MAX_CONDITION_DEPTH: usize = 64;

/// A condition error and the character offset in the condition text it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ConditionError {
    pub offset: usize,
    pub message: String,
}

fn error<T>(offset: usize, message: impl Into<String>) -> Result<T, ConditionError> {
    Err(ConditionError {
        offset,
        message: message.into(),
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    Pipe,
    And,
    Or,
    Not,
    Of,
    Them,
    All,
    Any,
    Number(usize),
    Word(String),
}

fn tokenize(text: &str) -> Result<Vec<(usize, Token)>, ConditionError> {
    let mut tokens = Vec::new();
    let characters: Vec<char> = text.chars().collect();
    let mut index = 0;
    while let Some(&character) = characters.get(index) {
        if character.is_whitespace() {
            index += 1;
            continue;
        }
        let single = match character {
            '(' => Some(Token::Open),
            ')' => Some(Token::Close),
            '|' => Some(Token::Pipe),
            _ => None,
        };
        if let Some(token) = single {
            tokens.push((index, token));
            index += 1;
            continue;
        }
        let start = index;
        while characters
            .get(index)
            .is_some_and(|c| !c.is_whitespace() && !matches!(c, '(' | ')' | '|'))
        {
            index += 1;
        }
        let word: String = characters.get(start..index).unwrap_or(&[]).iter().collect();
        let token = match word.as_str() {
            "and" => Token::And,
            "or" => Token::Or,
            "not" => Token::Not,
            "of" => Token::Of,
            "them" => Token::Them,
            "all" => Token::All,
            "any" => Token::Any,
            _ if word.bytes().all(|byte| byte.is_ascii_digit()) => match word.parse() {
                Ok(number) => Token::Number(number),
                Err(_) => return error(start, format!("number `{word}` is too large")),
            },
            _ => Token::Word(word),
        };
        tokens.push((start, token));
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: Vec<(usize, Token)>,
    next: usize,
    names: &'a [String],
    end_offset: usize,
    depth: usize,
}

/// Parses `text` against the rule's selection names.
pub(crate) fn parse(text: &str, names: &[String]) -> Result<Cond, ConditionError> {
    let mut parser = Parser {
        tokens: tokenize(text)?,
        next: 0,
        names,
        end_offset: text.chars().count(),
        depth: 0,
    };
    if parser.tokens.is_empty() {
        return error(0, "empty condition");
    }
    let condition = parser.parse_or()?;
    match parser.peek() {
        None => Ok(condition),
        Some((offset, Token::Pipe)) => error(
            offset,
            "aggregations in conditions (`| count() ...`) are not supported: write a correlation rule",
        ),
        Some((offset, token)) => error(offset, format!("unexpected {}", describe(&token))),
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Open => "`(`".to_owned(),
        Token::Close => "`)`".to_owned(),
        Token::Pipe => "`|`".to_owned(),
        Token::And => "`and`".to_owned(),
        Token::Or => "`or`".to_owned(),
        Token::Not => "`not`".to_owned(),
        Token::Of => "`of`".to_owned(),
        Token::Them => "`them`".to_owned(),
        Token::All => "`all`".to_owned(),
        Token::Any => "`any`".to_owned(),
        Token::Number(number) => format!("`{number}`"),
        Token::Word(word) => format!("`{word}`"),
    }
}

/// Sigma's selection-name patterns: `*` is the only wildcard.
fn name_matches(pattern: &str, name: &str) -> bool {
    let Some((head, rest)) = pattern.split_once('*') else {
        return pattern == name;
    };
    let Some(mut remaining) = name.strip_prefix(head) else {
        return false;
    };
    let mut parts: Vec<&str> = rest.split('*').collect();
    let last = parts.pop().unwrap_or_default();
    for part in parts {
        match remaining.find(part) {
            Some(found) => remaining = remaining.get(found + part.len()..).unwrap_or_default(),
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

impl Parser<'_> {
    fn peek(&self) -> Option<(usize, Token)> {
        self.tokens.get(self.next).cloned()
    }

    fn advance(&mut self) -> Option<(usize, Token)> {
        let token = self.peek();
        self.next += 1;
        token
    }

    fn descend(&mut self, offset: usize) -> Result<(), ConditionError> {
        self.depth += 1;
        if self.depth > MAX_CONDITION_DEPTH {
            return error(offset, "condition nested too deeply");
        }
        Ok(())
    }

    fn parse_or(&mut self) -> Result<Cond, ConditionError> {
        let mut terms = vec![self.parse_and()?];
        while matches!(self.peek(), Some((_, Token::Or))) {
            self.advance();
            terms.push(self.parse_and()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Cond::Or(terms)
        })
    }

    fn parse_and(&mut self) -> Result<Cond, ConditionError> {
        let mut terms = vec![self.parse_not()?];
        while matches!(self.peek(), Some((_, Token::And))) {
            self.advance();
            terms.push(self.parse_not()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Cond::And(terms)
        })
    }

    fn parse_not(&mut self) -> Result<Cond, ConditionError> {
        if let Some((offset, Token::Not)) = self.peek() {
            self.advance();
            self.descend(offset)?;
            let inner = self.parse_not()?;
            self.depth -= 1;
            return Ok(Cond::Not(Box::new(inner)));
        }
        self.parse_primary()
    }

    fn parse_primary(&mut self) -> Result<Cond, ConditionError> {
        let Some((offset, token)) = self.advance() else {
            return error(self.end_offset, "condition ends too early");
        };
        match token {
            Token::Open => {
                self.descend(offset)?;
                let inner = self.parse_or()?;
                self.depth -= 1;
                match self.advance() {
                    Some((_, Token::Close)) => Ok(inner),
                    Some((at, token)) => {
                        error(at, format!("expected `)`, found {}", describe(&token)))
                    }
                    None => error(offset, "unclosed `(`"),
                }
            }
            Token::Number(_) | Token::All | Token::Any => self.parse_quantifier(offset, &token),
            Token::Word(name) => match self.names.iter().position(|known| *known == name) {
                Some(index) => Ok(Cond::Selection(index)),
                None => error(offset, format!("unknown selection `{name}`")),
            },
            other => error(
                offset,
                format!(
                    "expected a selection, `not`, `(` or a quantifier, found {}",
                    describe(&other)
                ),
            ),
        }
    }

    fn parse_quantifier(
        &mut self,
        offset: usize,
        quantifier: &Token,
    ) -> Result<Cond, ConditionError> {
        match self.advance() {
            Some((_, Token::Of)) => {}
            Some((at, token)) => {
                return error(at, format!("expected `of`, found {}", describe(&token)));
            }
            None => return error(self.end_offset, "expected `of`"),
        }
        let (target_offset, matched): (usize, Vec<usize>) = match self.advance() {
            Some((at, Token::Them)) => (
                at,
                (0..self.names.len())
                    .filter(|index| {
                        self.names
                            .get(*index)
                            .is_some_and(|name| !name.starts_with('_'))
                    })
                    .collect(),
            ),
            Some((at, Token::Word(pattern))) => {
                let matched: Vec<usize> = (0..self.names.len())
                    .filter(|index| {
                        self.names
                            .get(*index)
                            .is_some_and(|name| name_matches(&pattern, name))
                    })
                    .collect();
                if matched.is_empty() {
                    return error(at, format!("no selection matches `{pattern}`"));
                }
                (at, matched)
            }
            Some((at, token)) => {
                return error(
                    at,
                    format!(
                        "expected a selection pattern or `them`, found {}",
                        describe(&token)
                    ),
                );
            }
            None => return error(self.end_offset, "expected a selection pattern or `them`"),
        };
        if matched.is_empty() {
            return error(target_offset, "no selections to quantify over");
        }
        let terms: Vec<Cond> = matched.into_iter().map(Cond::Selection).collect();
        match quantifier {
            Token::All => Ok(Cond::And(terms)),
            Token::Any | Token::Number(1) => Ok(Cond::Or(terms)),
            Token::Number(0) => error(offset, "`0 of` is always true; remove it"),
            Token::Number(count) if *count > terms.len() => error(
                offset,
                format!(
                    "`{count} of` can never match: only {} selections",
                    terms.len()
                ),
            ),
            Token::Number(count) => Ok(Cond::AtLeast(*count, terms)),
            _ => error(offset, "expected a quantifier"),
        }
    }
}

impl Cond {
    /// Evaluates with short-circuit; `selection` is asked only for what is needed.
    pub fn evaluate(&self, selection: &mut impl FnMut(usize) -> bool) -> bool {
        match self {
            Cond::Selection(index) => selection(*index),
            Cond::Not(inner) => !inner.evaluate_term(selection),
            Cond::And(terms) => terms.iter().all(|term| term.evaluate_term(selection)),
            Cond::Or(terms) => terms.iter().any(|term| term.evaluate_term(selection)),
            Cond::AtLeast(count, terms) => {
                let mut matched = 0;
                for term in terms {
                    if term.evaluate_term(selection) {
                        matched += 1;
                        if matched >= *count {
                            return true;
                        }
                    }
                }
                false
            }
        }
    }

    /// A term of a condition: most are plain selections, asked directly rather than through
    /// another call of [`Cond::evaluate`] (every candidate rule of every event comes here).
    #[inline(always)]
    fn evaluate_term(&self, selection: &mut impl FnMut(usize) -> bool) -> bool {
        match self {
            Cond::Selection(index) => selection(*index),
            _ => self.evaluate(selection),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| (*name).to_owned()).collect()
    }

    fn truth(condition: &Cond, values: &[bool]) -> bool {
        condition.evaluate(&mut |index| values[index])
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let known = names(&["a", "b", "c"]);
        let condition = parse("a or b and not c", &known).unwrap();
        assert_eq!(
            condition,
            Cond::Or(vec![
                Cond::Selection(0),
                Cond::And(vec![
                    Cond::Selection(1),
                    Cond::Not(Box::new(Cond::Selection(2)))
                ])
            ])
        );
        assert!(truth(&condition, &[true, false, true]));
        assert!(truth(&condition, &[false, true, false]));
        assert!(!truth(&condition, &[false, true, true]));
        let grouped = parse("(a or b) and not c", &known).unwrap();
        assert!(!truth(&grouped, &[true, false, true]));
        assert!(truth(&grouped, &[true, false, false]));
    }

    #[test]
    fn quantifiers_over_patterns_and_them() {
        let known = names(&["selection_a", "selection_b", "filter", "_helper"]);
        let one = parse("1 of selection_*", &known).unwrap();
        assert_eq!(one, Cond::Or(vec![Cond::Selection(0), Cond::Selection(1)]));
        let all = parse("all of selection*", &known).unwrap();
        assert_eq!(all, Cond::And(vec![Cond::Selection(0), Cond::Selection(1)]));
        let them = parse("all of them", &known).unwrap();
        assert_eq!(
            them,
            Cond::And(vec![
                Cond::Selection(0),
                Cond::Selection(1),
                Cond::Selection(2)
            ])
        );
        let any = parse("any of them and not filter", &known).unwrap();
        assert!(truth(&any, &[false, true, false, false]));
        assert!(!truth(&any, &[false, true, true, false]));
        let two = parse("2 of them", &known).unwrap();
        assert!(truth(&two, &[true, false, true, false]));
        assert!(!truth(&two, &[true, false, false, true]));
        let middle = parse("1 of *_b", &known).unwrap();
        assert_eq!(middle, Cond::Or(vec![Cond::Selection(1)]));
    }

    #[test]
    fn errors_point_at_the_offending_token() {
        let known = names(&["selection", "filter"]);
        let unknown = parse("selection and not filtr", &known).unwrap_err();
        assert_eq!(unknown.offset, 18);
        assert!(unknown.message.contains("unknown selection `filtr`"));
        let dangling = parse("selection and", &known).unwrap_err();
        assert_eq!(dangling.offset, 13);
        let unclosed = parse("(selection or filter", &known).unwrap_err();
        assert_eq!(unclosed.offset, 0);
        let pattern = parse("1 of sel_*", &known).unwrap_err();
        assert_eq!(pattern.offset, 5);
        let aggregation = parse("selection | count() > 5", &known).unwrap_err();
        assert_eq!(aggregation.offset, 10);
        assert!(aggregation.message.contains("correlation"));
        let extra = parse("selection filter", &known).unwrap_err();
        assert_eq!(extra.offset, 10);
        let too_many = parse("3 of them", &known).unwrap_err();
        assert_eq!(too_many.offset, 0);
        let deep = format!("{}selection{}", "(".repeat(100), ")".repeat(100));
        assert!(parse(&deep, &known).is_err());
        assert!(parse("   ", &known).is_err());
    }

    #[test]
    fn name_patterns() {
        assert!(name_matches("sel*", "selection"));
        assert!(name_matches("*tion", "selection"));
        assert!(name_matches("s*e*n", "selection"));
        assert!(!name_matches("s*x*n", "selection"));
        assert!(name_matches("*", "anything"));
        assert!(!name_matches("sel", "selection"));
        assert!(!name_matches("ab*ab", "ab"));
    }
}

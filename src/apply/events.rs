//! Replicated `CREATE EVENT` / `ALTER EVENT ... ENABLE`: which event to disable on the target.
//!
//! Owns only reading the event name out of such a statement. MariaDB's replica creates a
//! replicated event with status SLAVESIDE_DISABLED, so that it runs on the primary only; the
//! worker does the same with `ALTER EVENT <name> DISABLE ON SLAVE` after the DDL. It must not
//! send anything nor rewrite the statement (statement events run byte for byte as logged).

use crate::apply::sql::quote_ident;

/// One token of a statement: a word (upper-cased), an identifier (unquoted), a string, or a
/// punctuation character.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Ident(String),
    Str,
    Punct(char),
}

/// Tokens up to the first `n`, skipping whitespace and comments.
fn tokens(sql: &str, n: usize) -> Vec<Tok> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() && out.len() < n {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if b[i..].starts_with(b"/*") {
            i = sql[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
        } else if b[i..].starts_with(b"-- ") || c == b'#' {
            i = sql[i..].find('\n').map_or(b.len(), |e| i + e + 1);
        } else if c == b'`' || c == b'"' {
            let mut s = String::new();
            let mut j = i + 1;
            loop {
                match sql[j..].find(c as char) {
                    Some(e) => {
                        s.push_str(&sql[j..j + e]);
                        j += e + 1;
                        if b.get(j) == Some(&c) {
                            s.push(c as char);
                            j += 1;
                        } else {
                            break;
                        }
                    }
                    None => return out,
                }
            }
            out.push(Tok::Ident(s));
            i = j;
        } else if c == b'\'' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'\'' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            out.push(Tok::Str);
            i = j + 1;
        } else if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80 {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$' || b[i] >= 0x80) {
                i += 1;
            }
            out.push(Tok::Word(sql[start..i].to_string()));
        } else {
            out.push(Tok::Punct(c as char));
            i += 1;
        }
    }
    out
}

fn is_word(t: Option<&Tok>, w: &str) -> bool {
    matches!(t, Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
}

fn name_of(t: Option<&Tok>) -> Option<String> {
    match t {
        Some(Tok::Word(w)) | Some(Tok::Ident(w)) => Some(w.clone()),
        _ => None,
    }
}

/// For `CREATE [OR REPLACE] [DEFINER = ...] EVENT [IF NOT EXISTS] name ...` not already
/// `DISABLE`d, and `ALTER [DEFINER = ...] EVENT name ... ENABLE ...` (its `RENAME TO` name when
/// it has one): the quoted `schema`.`event` to disable on the target. `schema` is the
/// statement's default schema. `None` for anything else.
pub fn replicated_event_to_disable(sql: &str, schema: &str) -> Option<String> {
    let t = tokens(sql, 4096);
    let mut i = 0;
    let create = if is_word(t.first(), "CREATE") {
        true
    } else if is_word(t.first(), "ALTER") {
        false
    } else {
        return None;
    };
    i += 1;
    if create && is_word(t.get(i), "OR") && is_word(t.get(i + 1), "REPLACE") {
        i += 2;
    }
    if is_word(t.get(i), "DEFINER") {
        i += 1;
        if t.get(i) == Some(&Tok::Punct('=')) {
            i += 1;
        }
        // user[@host] or CURRENT_USER[()]
        i += 1;
        if t.get(i) == Some(&Tok::Punct('(')) && t.get(i + 1) == Some(&Tok::Punct(')')) {
            i += 2;
        }
        if t.get(i) == Some(&Tok::Punct('@')) {
            i += 2;
        }
    }
    if !is_word(t.get(i), "EVENT") {
        return None;
    }
    i += 1;
    if create && is_word(t.get(i), "IF") && is_word(t.get(i + 1), "NOT") && is_word(t.get(i + 2), "EXISTS") {
        i += 3;
    }
    let mut first = name_of(t.get(i))?;
    let mut second = None;
    if t.get(i + 1) == Some(&Tok::Punct('.')) {
        second = Some(name_of(t.get(i + 2))?);
        i += 2;
    }
    i += 1;
    // Status words before DO (the body may say anything).
    let head: Vec<&Tok> = t[i.min(t.len())..].iter().take_while(|x| !is_word(Some(x), "DO")).collect();
    let mut enable = false;
    let mut disable = false;
    for (k, x) in head.iter().enumerate() {
        if is_word(Some(x), "ENABLE") {
            enable = true;
        }
        if is_word(Some(x), "DISABLE") {
            disable = true;
        }
        if is_word(Some(x), "RENAME") && is_word(head.get(k + 1).copied(), "TO") {
            first = name_of(head.get(k + 2).copied())?;
            second = None;
            if head.get(k + 3) == Some(&&Tok::Punct('.')) {
                second = Some(name_of(head.get(k + 4).copied())?);
            }
        }
    }
    let wanted = if create { !disable } else { enable };
    if !wanted {
        return None;
    }
    let (db, ev) = match second {
        Some(ev) => (first, ev),
        None => (schema.to_string(), first),
    };
    if db.is_empty() {
        return Some(quote_ident(&ev));
    }
    Some(format!("{}.{}", quote_ident(&db), quote_ident(&ev)))
}

#[cfg(test)]
mod tests {
    use super::replicated_event_to_disable as f;

    #[test]
    fn create_event_names() {
        assert_eq!(f("CREATE EVENT ev ON SCHEDULE EVERY 1 HOUR DO INSERT INTO t VALUES (1)", "d").as_deref(), Some("`d`.`ev`"));
        assert_eq!(
            f("CREATE DEFINER=`root`@`localhost` EVENT IF NOT EXISTS `x y`.`e``v` ON SCHEDULE AT NOW() DO DELETE FROM t", "d").as_deref(),
            Some("`x y`.`e``v`")
        );
        assert_eq!(f("/* c */ create or replace definer = current_user() event e2 on schedule every 1 day enable do begin end", "d").as_deref(), Some("`d`.`e2`"));
        // Created disabled on the source: stays as it is.
        assert_eq!(f("CREATE EVENT e ON SCHEDULE EVERY 1 DAY DISABLE DO SELECT 'ENABLE'", "d"), None);
        // The body may say ENABLE/DISABLE: only the words before DO count.
        assert_eq!(f("CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO ALTER EVENT x DISABLE", "d").as_deref(), Some("`d`.`e`"));
    }

    #[test]
    fn alter_event_only_when_enabled() {
        assert_eq!(f("ALTER EVENT e ENABLE", "d").as_deref(), Some("`d`.`e`"));
        assert_eq!(f("ALTER EVENT e DISABLE", "d"), None);
        assert_eq!(f("ALTER EVENT e ON SCHEDULE EVERY 2 DAY", "d"), None);
        assert_eq!(f("ALTER EVENT e RENAME TO o.e2 ENABLE", "d").as_deref(), Some("`o`.`e2`"));
    }

    #[test]
    fn other_statements_are_not_events() {
        assert_eq!(f("CREATE TABLE event (a int)", "d"), None);
        assert_eq!(f("CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET @a=1", "d"), None);
        assert_eq!(f("DROP EVENT e", "d"), None);
    }
}

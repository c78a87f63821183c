//! The HCL 1 printer (`hashicorp/hcl/hcl/printer` v1.0.0, two-space indent): aligned
//! one-line attributes, blank lines between blocks, comments kept where they were.

use super::{
    parse, CommentGroup, File, ListType, LiteralType, Node, ObjectItem, ObjectType, ParseError, Pos, TokenType,
};

/// Marks lines that must not be indented (continuations of heredocs and multi-line strings).
const UNINDENT: &str = "\u{E123}";

const INFINITY: usize = 1 << 30;

/// `printer.Format`: parses (rejecting duplicate attributes, as OpenBao's fork does) and
/// prints the canonical layout, with a trailing newline.
pub(crate) fn format(src: &str) -> Result<String, ParseError> {
    let file = parse(src, true)?;
    let mut p = Printer::new(&file);
    let out = p.object_list(&file.node.items);
    Ok(format!("{}\n", unindent(&out)))
}

struct Printer<'a> {
    comments: &'a [CommentGroup],
    /// Comment groups that are neither lead nor line comments, in source order.
    standalone: Vec<usize>,
    prev: Pos,
}

fn lines(s: &str) -> usize {
    1 + s.matches('\n').count()
}

/// Prefixes each non-empty line with two spaces.
fn indent(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut bol = true;
    for c in s.chars() {
        if bol && c != '\n' {
            out.push_str("  ");
        }
        out.push(c);
        bol = c == '\n';
    }
    out
}

/// Marks lines 2+ so that `unindent` strips the indentation put before them.
fn heredoc_indent(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut bol = false;
    for c in s.chars() {
        if bol && c != '\n' {
            out.push_str(UNINDENT);
        }
        out.push(c);
        bol = c == '\n';
    }
    out
}

/// Removes the markers and the whitespace before them on their line.
fn unindent(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(UNINDENT) {
        out.push_str(&rest[..i]);
        while out.ends_with(|c: char| c != '\n') && !out.is_empty() {
            out.pop();
        }
        rest = &rest[i + UNINDENT.len()..];
    }
    out.push_str(rest);
    out
}

impl<'a> Printer<'a> {
    fn new(file: &'a File) -> Printer<'a> {
        let mut used = vec![false; file.comments.len()];
        fn mark_item(item: &ObjectItem, used: &mut [bool]) {
            for idx in [item.lead_comment, item.line_comment].into_iter().flatten() {
                if let Some(u) = used.get_mut(idx) {
                    *u = true;
                }
            }
            mark_node(&item.val, used);
        }
        fn mark_node(node: &Node, used: &mut [bool]) {
            match node {
                Node::Literal(l) => {
                    for idx in [l.lead_comment, l.line_comment].into_iter().flatten() {
                        if let Some(u) = used.get_mut(idx) {
                            *u = true;
                        }
                    }
                }
                Node::List(l) => l.list.iter().for_each(|n| mark_node(n, used)),
                Node::Object(o) => o.list.items.iter().for_each(|i| mark_item(i, used)),
            }
        }
        file.node.items.iter().for_each(|i| mark_item(i, &mut used));
        let mut standalone: Vec<usize> = (0..file.comments.len()).filter(|i| !used[*i]).collect();
        standalone.sort_by_key(|i| {
            let p = file.comments[*i].pos();
            (p.offset, p.line)
        });
        Printer { comments: &file.comments, standalone, prev: Pos::default() }
    }

    /// The top-level list (Go's `output` of an `*ast.ObjectList`).
    fn object_list(&mut self, items: &[ObjectItem]) -> String {
        let mut buf = String::new();
        let mut index = 0;
        loop {
            let next_item = match items.get(index) {
                Some(item) => item.pos(),
                None => Pos { offset: INFINITY, line: INFINITY, column: 0 },
            };
            for g in self.standalone.clone() {
                let mut printed = false;
                let mut newline_printed = false;
                for comment in &self.comments[g].list {
                    if comment.start.after(&self.prev) && comment.start.before(&next_item) {
                        if !newline_printed && self.prev.is_valid() && index == items.len() {
                            buf.push_str("\n\n");
                            newline_printed = true;
                        }
                        buf.push_str(&comment.text);
                        buf.push('\n');
                        printed = true;
                    }
                }
                if printed && index != items.len() {
                    buf.push('\n');
                }
            }
            let Some(item) = items.get(index) else {
                break;
            };
            self.prev = item.pos();
            buf.push_str(&self.object_item(item));
            if index != items.len() - 1 {
                buf.push('\n');
                let next = &items[index + 1];
                if next.pos().line != item.pos().line + 1
                    || !is_single_line_object(next)
                    || !is_single_line_object(item)
                {
                    buf.push('\n');
                }
            }
            index += 1;
        }
        buf
    }

    fn output(&mut self, node: &Node) -> String {
        match node {
            Node::Literal(l) => literal(l),
            Node::List(l) => self.list(l),
            Node::Object(o) => self.object_type(o),
        }
    }

    fn comment_text(&self, group: Option<usize>) -> Vec<&'a str> {
        group
            .and_then(|g| self.comments.get(g))
            .map(|g| g.list.iter().map(|c| c.text.as_str()).collect())
            .unwrap_or_default()
    }

    fn object_item(&mut self, o: &ObjectItem) -> String {
        let mut buf = String::new();
        for c in self.comment_text(o.lead_comment) {
            buf.push_str(c);
            buf.push('\n');
        }
        let key_line = o.keys.first().map(|k| k.pos.line).unwrap_or(0);
        if o.line_comment.is_some() && o.val.pos().line != key_line {
            for c in self.comment_text(o.line_comment) {
                buf.push_str(c);
                buf.push('\n');
            }
        }
        for (i, k) in o.keys.iter().enumerate() {
            buf.push_str(&k.text);
            buf.push(' ');
            if o.assign.is_valid() && i == o.keys.len() - 1 && o.keys.len() == 1 {
                buf.push_str("= ");
            }
        }
        buf.push_str(&self.output(&o.val));
        if o.line_comment.is_some() && o.val.pos().line == key_line {
            buf.push(' ');
            for c in self.comment_text(o.line_comment) {
                buf.push_str(c);
            }
        }
        buf
    }

    fn object_type(&mut self, o: &ObjectType) -> String {
        let items = &o.list.items;
        let mut buf = String::from("{");
        let mut index = 0;
        let mut commented = false;
        let mut newline_printed = false;
        loop {
            let next_item = match items.get(index) {
                Some(item) => item.pos(),
                None => o.rbrace,
            };
            for g in self.standalone.clone() {
                let mut printed = false;
                let mut last_comment_pos = Pos::default();
                for comment in &self.comments[g].list {
                    if comment.start.after(&self.prev) && comment.start.before(&next_item) {
                        if !newline_printed {
                            newline_printed = true;
                            buf.push('\n');
                        }
                        if index > 0 {
                            commented = true;
                            buf.push('\n');
                        }
                        last_comment_pos = comment.start;
                        buf.push_str(&indent(&heredoc_indent(&comment.text)));
                        printed = true;
                    }
                }
                if printed {
                    buf.push('\n');
                    if next_item != o.rbrace && next_item.line != last_comment_pos.line + 1 {
                        buf.push('\n');
                    }
                }
            }
            if index == items.len() {
                self.prev = o.rbrace;
                break;
            }
            if !newline_printed {
                buf.push('\n');
                newline_printed = true;
            }
            // Adjacent one-line items are aligned together.
            let mut aligned: Vec<&ObjectItem> = Vec::new();
            for item in &items[index..] {
                if items.len() == 1 {
                    break;
                }
                let cur = lines(&self.object_item(item));
                if cur > 2 {
                    break;
                }
                let cur_pos = item.pos();
                let next_pos = if index != items.len() - 1 { items[index + 1].pos() } else { Pos::default() };
                let prev_pos = if index != 0 { items[index - 1].pos() } else { Pos::default() };
                if cur_pos.line + 1 == next_pos.line {
                    aligned.push(item);
                    index += 1;
                    continue;
                }
                if cur_pos.line.wrapping_sub(1) == prev_pos.line {
                    aligned.push(item);
                    index += 1;
                    if cur_pos.line + 1 != next_pos.line {
                        break;
                    }
                    continue;
                }
                break;
            }
            if !commented && index != aligned.len() {
                buf.push('\n');
            }
            if let Some(last) = aligned.last() {
                self.prev = last.pos();
                let text = self.aligned_items(&aligned);
                buf.push_str(&indent(&text));
            } else {
                self.prev = items[index].pos();
                let text = self.object_item(&items[index]);
                buf.push_str(&indent(&text));
                index += 1;
            }
            buf.push('\n');
        }
        buf.push('}');
        buf
    }

    fn aligned_items(&mut self, items: &[&ObjectItem]) -> String {
        let mut longest_key = 0;
        let mut longest_val = 0;
        for item in items {
            longest_key = longest_key.max(item.keys.first().map(|k| k.text.len()).unwrap_or(0));
            longest_val = longest_val.max(self.output(&item.val).len());
        }
        let mut buf = String::new();
        for (i, item) in items.iter().enumerate() {
            for c in self.comment_text(item.lead_comment) {
                buf.push_str(c);
                buf.push('\n');
            }
            for (j, k) in item.keys.iter().enumerate() {
                buf.push_str(&k.text);
                buf.push_str(&" ".repeat(longest_key.saturating_sub(k.text.len()) + 1));
                if j == item.keys.len() - 1 && item.keys.len() == 1 {
                    buf.push_str("= ");
                }
            }
            let val = self.output(&item.val);
            let val_len = val.len();
            buf.push_str(&val);
            let key_line = item.keys.first().map(|k| k.pos.line).unwrap_or(0);
            if item.val.pos().line == key_line && item.line_comment.is_some() {
                buf.push_str(&" ".repeat(longest_val.saturating_sub(val_len) + 1));
                for c in self.comment_text(item.line_comment) {
                    buf.push_str(c);
                }
            }
            if i != items.len() - 1 {
                buf.push('\n');
            }
        }
        buf
    }

    fn list(&mut self, l: &ListType) -> String {
        if is_single_line_list(l) {
            let mut buf = String::from("[");
            for (i, item) in l.list.iter().enumerate() {
                if i != 0 {
                    buf.push_str(", ");
                }
                buf.push_str(&self.output(item));
                if matches!(item, Node::Literal(lit) if lit.token.typ == TokenType::Heredoc) {
                    buf.push('\n');
                }
            }
            buf.push(']');
            return buf;
        }
        let mut buf = String::from("[\n");
        let longest_line = l
            .list
            .iter()
            .filter_map(|n| match n {
                Node::Literal(lit) => Some(lit.token.text.len()),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        let mut have_empty_line = false;
        for (i, item) in l.list.iter().enumerate() {
            let mut lead = false;
            if let Node::Literal(lit) = item {
                if lit.lead_comment.is_some() {
                    lead = true;
                    if !have_empty_line && i != 0 {
                        buf.push('\n');
                    }
                    for c in self.comment_text(lit.lead_comment) {
                        buf.push_str(&indent(c));
                        buf.push('\n');
                    }
                }
            }
            let val = self.output(item);
            let cur_len = val.len();
            buf.push_str(&indent(&val));
            let heredoc = matches!(item, Node::Literal(lit) if lit.token.typ == TokenType::Heredoc);
            if heredoc {
                buf.push('\n');
                buf.push_str(&indent(","));
            } else {
                buf.push(',');
            }
            if let Node::Literal(lit) = item {
                if lit.line_comment.is_some() {
                    buf.push(' ');
                    buf.push_str(&" ".repeat(longest_line.saturating_sub(cur_len)));
                    for c in self.comment_text(lit.line_comment) {
                        buf.push_str(c);
                    }
                }
            }
            buf.push('\n');
            have_empty_line = lead && i != l.list.len() - 1;
            if have_empty_line {
                buf.push('\n');
            }
        }
        buf.push(']');
        buf
    }
}

fn literal(lit: &LiteralType) -> String {
    let text = &lit.token.text;
    match lit.token.typ {
        TokenType::Heredoc => heredoc_indent(text.strip_suffix('\n').unwrap_or(text)),
        TokenType::String if text.contains('\n') => heredoc_indent(text),
        _ => text.clone(),
    }
}

/// Go's `isSingleLineList`: written on one line, literals only, at most one heredoc, no
/// line comments.
fn is_single_line_list(l: &ListType) -> bool {
    l.list.iter().all(|item| {
        if item.pos().line != l.lbrack.line {
            return false;
        }
        let Node::Literal(lit) = item else {
            return false;
        };
        if lit.token.typ == TokenType::Heredoc && l.list.len() != 1 {
            return false;
        }
        lit.line_comment.is_none()
    })
}

/// Go's `isSingleLineObject`: an empty block (`path "x" {}`) without a lead comment.
fn is_single_line_object(item: &ObjectItem) -> bool {
    if item.lead_comment.is_some() || item.assign.is_valid() {
        return false;
    }
    matches!(&item.val, Node::Object(o) if o.list.items.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(src: &str) -> String {
        match format(src) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    /// Blocks get a blank line between them, one-line attributes are aligned, comments
    /// stay where they were (outputs taken from bao 2.7.2's `policy fmt`).
    #[test]
    fn formats_like_bao() {
        let src = "# comment at top\npath \"secret/*\" {\ncapabilities = [\"read\",\"list\"]\n}\npath \"sys/mounts\" { capabilities = [\"read\"]   # trailing\n  }\n\npath \"a/+/b\" {\n  capabilities = [\n    \"create\",\n    \"update\",\n  ]\n  min_wrapping_ttl = \"1s\"\n  allowed_parameters = {\n    \"foo\" = []\n    \"bar\" = [\"x\", \"y\"]\n  }\n}\n";
        assert_eq!(
            fmt(src),
            "# comment at top\npath \"secret/*\" {\n  capabilities = [\"read\", \"list\"]\n}\n\npath \"sys/mounts\" {\n  capabilities = [\"read\"] # trailing\n}\n\npath \"a/+/b\" {\n  capabilities = [\n    \"create\",\n    \"update\",\n  ]\n\n  min_wrapping_ttl = \"1s\"\n\n  allowed_parameters = {\n    \"foo\" = []\n    \"bar\" = [\"x\", \"y\"]\n  }\n}\n"
        );
        assert_eq!(
            fmt("# lead\npath \"a\" {\n  # inner lead\n  capabilities = [\"read\"] # line\n  min_wrapping_ttl = \"1s\" // x\n  max_wrapping_ttl = \"100s\"\n\n  # standalone\n\n  denied_parameters = {\n    \"x\" = []\n  }\n}\n# trailing comment\n"),
            "# lead\npath \"a\" {\n  # inner lead\n  capabilities     = [\"read\"] # line\n  min_wrapping_ttl = \"1s\"     // x\n  max_wrapping_ttl = \"100s\"\n\n  # standalone\n\n  denied_parameters = {\n    \"x\" = []\n  }\n}\n\n# trailing comment\n\n"
        );
        assert_eq!(fmt(""), "\n");
        assert_eq!(fmt("path \"a\" {\n}\n"), "path \"a\" {}\n");
        assert_eq!(fmt("path \"a\" {}\npath \"b\" {}\n"), "path \"a\" {}\npath \"b\" {}\n");
        assert_eq!(
            fmt("path \"a\" {\n  capabilities = [\"read\", # c1\n  \"list\", /* c2 */\n  ]\n}\n"),
            "path \"a\" {\n  capabilities = [\n    \"read\", # c1\n    \"list\", /* c2 */\n  ]\n}\n"
        );
        assert_eq!(
            fmt("path \"a\" {\n  capabilities = [\n    \"read\" // c\n  ]\n}\n"),
            "path \"a\" {\n  capabilities = [\n    \"read\",\n  ] // c\n}\n"
        );
    }
}

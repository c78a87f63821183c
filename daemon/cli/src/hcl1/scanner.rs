//! HCL 1 tokens, scanned the way `hashicorp/hcl/hcl/scanner` scans them (positions
//! included: error messages carry them, and the printer lays comments out by them).

use super::{Pos, Token, TokenType};

/// The scanner's end-of-input marker (Go uses rune 0; a NUL in the input also ends it).
const EOF: char = '\0';

pub(crate) struct Scanner<'a> {
    src: &'a [u8],
    /// Read offset into `src` (Go's `bytes.Buffer` position).
    rd: usize,
    last_read: usize,
    src_pos: Pos,
    prev_pos: Pos,
    last_char_len: usize,
    last_line_len: usize,
    tok_start: usize,
    /// The last error reported (Go's parser keeps only the last).
    pub(crate) error: Option<(Pos, String)>,
}

fn is_letter(ch: char) -> bool {
    ch.is_ascii_alphabetic() || ch == '_' || (ch as u32 >= 0x80 && ch.is_alphabetic())
}

fn is_digit(ch: char) -> bool {
    ch.is_ascii_digit() || (ch as u32 >= 0x80 && ch.is_numeric())
}

fn is_decimal(ch: char) -> bool {
    ch.is_ascii_digit()
}

fn digit_val(ch: char) -> u32 {
    ch.to_digit(16).unwrap_or(16)
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(src: &'a [u8]) -> Scanner<'a> {
        Scanner {
            src,
            rd: 0,
            last_read: 0,
            src_pos: Pos { offset: 0, line: 1, column: 0 },
            prev_pos: Pos::default(),
            last_char_len: 0,
            last_line_len: 0,
            tok_start: 0,
            error: None,
        }
    }

    /// Decodes the rune at `at`: the character and its length, `None` for invalid UTF-8.
    fn decode(&self, at: usize) -> Option<(Option<char>, usize)> {
        let rest = self.src.get(at..).filter(|r| !r.is_empty())?;
        let width = match rest[0] {
            b if b < 0x80 => 1,
            b if b >> 5 == 0b110 => 2,
            b if b >> 4 == 0b1110 => 3,
            b if b >> 3 == 0b11110 => 4,
            _ => return Some((None, 1)),
        };
        match rest.get(..width).and_then(|b| std::str::from_utf8(b).ok()).and_then(|s| s.chars().next()) {
            Some(c) => Some((Some(c), width)),
            None => Some((None, 1)),
        }
    }

    fn next(&mut self) -> char {
        let Some((ch, size)) = self.decode(self.rd) else {
            self.src_pos.column += 1;
            self.last_char_len = 0;
            return EOF;
        };
        self.rd += size;
        self.last_read = size;
        self.prev_pos = self.src_pos;
        self.src_pos.column += 1;
        self.last_char_len = size;
        self.src_pos.offset += size;
        let Some(ch) = ch else {
            self.err("illegal UTF-8 encoding");
            return char::REPLACEMENT_CHARACTER;
        };
        if ch == '\n' {
            self.src_pos.line += 1;
            self.last_line_len = self.src_pos.column;
            self.src_pos.column = 0;
        }
        if ch == '\0' {
            self.err("unexpected null character (0x00)");
            return EOF;
        }
        if ch == '\u{E123}' {
            self.err("unicode code point U+E123 reserved for internal use");
            return char::REPLACEMENT_CHARACTER;
        }
        ch
    }

    fn unread(&mut self) {
        self.rd = self.rd.saturating_sub(self.last_read);
        self.last_read = 0;
        self.src_pos = self.prev_pos;
    }

    fn peek(&self) -> char {
        match self.decode(self.rd) {
            Some((Some(c), _)) => c,
            Some((None, _)) => char::REPLACEMENT_CHARACTER,
            None => EOF,
        }
    }

    /// The next token.
    pub(crate) fn scan(&mut self) -> Token {
        let mut ch = self.next();
        while matches!(ch, ' ' | '\t' | '\n' | '\r') {
            ch = self.next();
        }
        self.tok_start = self.src_pos.offset - self.last_char_len;
        let mut tok_pos = Pos { offset: self.tok_start, ..Pos::default() };
        if self.src_pos.column > 0 {
            tok_pos.line = self.src_pos.line;
            tok_pos.column = self.src_pos.column;
        } else {
            tok_pos.line = self.src_pos.line - 1;
            tok_pos.column = self.last_line_len;
        }
        let typ = if is_letter(ch) {
            let lit = self.scan_identifier();
            if lit == "true" || lit == "false" {
                TokenType::Bool
            } else {
                TokenType::Ident
            }
        } else if is_decimal(ch) {
            self.scan_number(ch)
        } else {
            match ch {
                EOF => TokenType::Eof,
                '"' => {
                    self.scan_string();
                    TokenType::String
                }
                '#' | '/' => {
                    self.scan_comment(ch);
                    TokenType::Comment
                }
                '.' => {
                    if is_decimal(self.peek()) {
                        let c = self.peek();
                        let c = self.scan_mantissa(c);
                        self.scan_exponent(c);
                        TokenType::Float
                    } else {
                        TokenType::Period
                    }
                }
                '<' => {
                    self.scan_heredoc();
                    TokenType::Heredoc
                }
                '[' => TokenType::LBrack,
                ']' => TokenType::RBrack,
                '{' => TokenType::LBrace,
                '}' => TokenType::RBrace,
                ',' => TokenType::Comma,
                '=' => TokenType::Assign,
                '+' => TokenType::Add,
                '-' => {
                    if is_decimal(self.peek()) {
                        let c = self.next();
                        self.scan_number(c)
                    } else {
                        TokenType::Sub
                    }
                }
                _ => {
                    self.err("illegal char");
                    TokenType::Illegal
                }
            }
        };
        let end = self.src_pos.offset;
        let text = String::from_utf8_lossy(self.src.get(self.tok_start..end).unwrap_or_default()).into_owned();
        self.tok_start = end;
        Token { typ, pos: tok_pos, text }
    }

    fn scan_comment(&mut self, mut ch: char) {
        if ch == '#' || (ch == '/' && self.peek() != '*') {
            if ch == '/' && self.peek() != '/' {
                self.err("expected '/' for comment");
                return;
            }
            ch = self.next();
            while ch != '\n' && ch != EOF {
                ch = self.next();
            }
            if ch != EOF {
                self.unread();
            }
            return;
        }
        if ch == '/' {
            self.next();
            ch = self.next();
        }
        loop {
            if ch == EOF {
                self.err("comment not terminated");
                break;
            }
            let ch0 = ch;
            ch = self.next();
            if ch0 == '*' && ch == '/' {
                break;
            }
        }
    }

    fn scan_number(&mut self, mut ch: char) -> TokenType {
        if ch == '0' {
            ch = self.next();
            if ch == 'x' || ch == 'X' {
                ch = self.next();
                let mut found = false;
                while ch.is_ascii_hexdigit() {
                    ch = self.next();
                    found = true;
                }
                if !found {
                    self.err("illegal hexadecimal number");
                }
                if ch != EOF {
                    self.unread();
                }
                return TokenType::Number;
            }
            let mut illegal_octal = false;
            while is_decimal(ch) {
                ch = self.next();
                if ch == '8' || ch == '9' {
                    illegal_octal = true;
                }
            }
            if ch == 'e' || ch == 'E' {
                self.scan_exponent(ch);
                return TokenType::Float;
            }
            if ch == '.' {
                ch = self.scan_fraction(ch);
                if ch == 'e' || ch == 'E' {
                    ch = self.next();
                    self.scan_exponent(ch);
                }
                return TokenType::Float;
            }
            if illegal_octal {
                self.err("illegal octal number");
            }
            if ch != EOF {
                self.unread();
            }
            return TokenType::Number;
        }
        self.scan_mantissa(ch);
        ch = self.next();
        if ch == 'e' || ch == 'E' {
            self.scan_exponent(ch);
            return TokenType::Float;
        }
        if ch == '.' {
            ch = self.scan_fraction(ch);
            if ch == 'e' || ch == 'E' {
                ch = self.next();
                self.scan_exponent(ch);
            }
            return TokenType::Float;
        }
        if ch != EOF {
            self.unread();
        }
        TokenType::Number
    }

    fn scan_mantissa(&mut self, mut ch: char) -> char {
        let mut scanned = false;
        while is_decimal(ch) {
            ch = self.next();
            scanned = true;
        }
        if scanned && ch != EOF {
            self.unread();
        }
        ch
    }

    fn scan_fraction(&mut self, ch: char) -> char {
        if ch == '.' {
            let c = self.peek();
            return self.scan_mantissa(c);
        }
        ch
    }

    fn scan_exponent(&mut self, mut ch: char) -> char {
        if ch == 'e' || ch == 'E' {
            ch = self.next();
            if ch == '-' || ch == '+' {
                ch = self.next();
            }
            ch = self.scan_mantissa(ch);
        }
        ch
    }

    fn scan_heredoc(&mut self) {
        if self.next() != '<' {
            self.err("heredoc expected second '<', didn't see it");
            return;
        }
        let offs = self.src_pos.offset;
        let mut ch = self.next();
        if ch == '-' {
            ch = self.next();
        }
        while is_letter(ch) || is_digit(ch) {
            ch = self.next();
        }
        if ch == EOF {
            self.err("heredoc not terminated");
            return;
        }
        if ch == '\r' && self.peek() == '\n' {
            ch = self.next();
        }
        if ch != '\n' {
            self.err("invalid characters in heredoc anchor");
            return;
        }
        let ident_end = self.src_pos.offset - self.last_char_len;
        let ident: Vec<u8> = self.src.get(offs..ident_end).unwrap_or_default().to_vec();
        if ident.is_empty() {
            self.err("zero-length heredoc anchor");
            return;
        }
        let anchor: Vec<u8> = if ident[0] == b'-' { ident[1..].to_vec() } else { ident.clone() };
        let matches_anchor = |line: &[u8]| {
            let line = match line.iter().position(|b| !b.is_ascii_whitespace()) {
                Some(i) => &line[i..],
                None => &line[line.len()..],
            };
            line.strip_prefix(anchor.as_slice()).is_some_and(|rest| rest.iter().all(|b| *b == b'\r'))
        };
        let mut line_start = self.src_pos.offset;
        loop {
            let ch = self.next();
            if ch == '\n' {
                let end = self.src_pos.offset - self.last_char_len;
                let line = self.src.get(line_start..end).unwrap_or_default();
                if end - line_start >= ident.len() && matches_anchor(line) {
                    break;
                }
                line_start = self.src_pos.offset;
            }
            if ch == EOF {
                self.err("heredoc not terminated");
                return;
            }
        }
    }

    fn scan_string(&mut self) {
        let mut braces = 0;
        loop {
            let ch = self.next();
            if (ch == '\n' && braces == 0) || ch == EOF {
                self.err("literal not terminated");
                return;
            }
            if ch == '"' && braces == 0 {
                break;
            }
            if braces == 0 && ch == '$' && self.peek() == '{' {
                braces += 1;
                self.next();
            } else if braces > 0 && ch == '{' {
                braces += 1;
            }
            if braces > 0 && ch == '}' {
                braces -= 1;
            }
            if ch == '\\' {
                self.scan_escape();
            }
        }
    }

    fn scan_escape(&mut self) {
        let ch = self.next();
        match ch {
            'a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\' | '"' => {}
            '0'..='7' => self.scan_digits(ch, 8, 3),
            'x' => {
                let c = self.next();
                self.scan_digits(c, 16, 2);
            }
            'u' => {
                let c = self.next();
                self.scan_digits(c, 16, 4);
            }
            'U' => {
                let c = self.next();
                self.scan_digits(c, 16, 8);
            }
            _ => self.err("illegal char escape"),
        }
    }

    fn scan_digits(&mut self, mut ch: char, base: u32, n: usize) {
        let mut left = n;
        while left > 0 && digit_val(ch) < base {
            ch = self.next();
            if ch == EOF {
                break;
            }
            left -= 1;
        }
        if left > 0 {
            self.err("illegal char escape");
        }
        if left != n && ch != EOF {
            self.unread();
        }
    }

    fn scan_identifier(&mut self) -> String {
        let offs = self.src_pos.offset - self.last_char_len;
        let mut ch = self.next();
        while is_letter(ch) || is_digit(ch) || ch == '-' || ch == '.' {
            ch = self.next();
        }
        if ch != EOF {
            self.unread();
        }
        String::from_utf8_lossy(self.src.get(offs..self.src_pos.offset).unwrap_or_default()).into_owned()
    }

    /// The position just after the last character read (where an error is reported).
    fn recent_position(&self) -> Pos {
        let mut pos = Pos { offset: self.src_pos.offset.saturating_sub(self.last_char_len), ..Pos::default() };
        if self.src_pos.column > 0 {
            pos.line = self.src_pos.line;
            pos.column = self.src_pos.column;
        } else if self.last_line_len > 0 {
            pos.line = self.src_pos.line - 1;
            pos.column = self.last_line_len;
        } else {
            pos.line = 1;
            pos.column = 1;
        }
        pos
    }

    fn err(&mut self, msg: &str) {
        self.error = Some((self.recent_position(), msg.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(src: &str) -> Vec<(TokenType, String, usize, usize)> {
        let mut s = Scanner::new(src.as_bytes());
        let mut out = Vec::new();
        for _ in 0..64 {
            let t = s.scan();
            let done = t.typ == TokenType::Eof;
            out.push((t.typ, t.text, t.pos.line, t.pos.column));
            if done {
                break;
            }
        }
        out
    }

    /// Tokens, their texts and their line:column positions are HCL's.
    #[test]
    fn tokens_and_positions() {
        let t = types("path \"a/*\" {\n  x = [1, 2.5, true] # c\n}");
        let summary: Vec<(TokenType, &str)> = t.iter().map(|(ty, s, _, _)| (*ty, s.as_str())).collect();
        assert_eq!(
            summary,
            vec![
                (TokenType::Ident, "path"),
                (TokenType::String, "\"a/*\""),
                (TokenType::LBrace, "{"),
                (TokenType::Ident, "x"),
                (TokenType::Assign, "="),
                (TokenType::LBrack, "["),
                (TokenType::Number, "1"),
                (TokenType::Comma, ","),
                (TokenType::Float, "2.5"),
                (TokenType::Comma, ","),
                (TokenType::Bool, "true"),
                (TokenType::RBrack, "]"),
                (TokenType::Comment, "# c"),
                (TokenType::RBrace, "}"),
                (TokenType::Eof, ""),
            ]
        );
        assert_eq!((t[3].2, t[3].3), (2, 3));
        // EOF is one column past the last character, as in Go.
        assert_eq!((t[14].2, t[14].3), (3, 2));
    }

    /// Heredocs run to their anchor; comments of every style are single tokens.
    #[test]
    fn heredocs_and_comments() {
        let t = types("a = <<EOF\nx\n  EOF\n/* b\nc */ // d");
        assert_eq!(t[2].1, "<<EOF\nx\n  EOF\n");
        assert_eq!(t[3].1, "/* b\nc */");
        assert_eq!(t[4].1, "// d");
    }
}

//! Just enough of POSIX `sh` word splitting to read the `pip install` lines that the KFP SDK
//! writes into a component's command: quotes, backslashes, comments and the operators that
//! separate simple commands. Nothing is expanded; a word that would be is marked, so that the
//! caller can refuse to guess its value.

/// One word of a simple command, with quotes removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    pub text: String,
    /// The word holds a parameter expansion, command substitution or redirection, so its
    /// runtime value is not `text`.
    pub is_dynamic: bool,
}

/// The script does not lex: an unterminated quote or substitution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnterminatedQuote;

/// Splits `script` into simple commands (separated by newlines, `;`, `&`, `&&`, `|`, `||` and
/// parentheses), each a list of words.
pub(crate) fn simple_commands(script: &str) -> Result<Vec<Vec<Word>>, UnterminatedQuote> {
    let mut lexer = Lexer {
        chars: script.chars().collect(),
        position: 0,
        word: None,
        command: Vec::new(),
        commands: Vec::new(),
    };
    lexer.run()?;
    Ok(lexer.commands)
}

struct Lexer {
    chars: Vec<char>,
    position: usize,
    word: Option<Word>,
    command: Vec<Word>,
    commands: Vec<Vec<Word>>,
}

impl Lexer {
    fn run(&mut self) -> Result<(), UnterminatedQuote> {
        while let Some(c) = self.next_char() {
            match c {
                ' ' | '\t' => self.end_word(),
                '\n' | ';' | '&' | '|' | '(' | ')' => self.end_command(),
                '#' if self.word.is_none() => self.skip_comment(),
                '\\' => match self.next_char() {
                    Some('\n') => {}
                    Some(escaped) => self.push(escaped),
                    None => self.push('\\'),
                },
                '\'' => self.single_quoted()?,
                '"' => self.double_quoted()?,
                '$' | '`' => self.substitution(c)?,
                '<' | '>' => {
                    self.push(c);
                    self.mark_dynamic();
                }
                other => self.push(other),
            }
        }
        self.end_command();
        Ok(())
    }

    fn next_char(&mut self) -> Option<char> {
        let c = self.chars.get(self.position).copied();
        if c.is_some() {
            self.position += 1;
        }
        c
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.position).copied()
    }

    fn word(&mut self) -> &mut Word {
        self.word.get_or_insert_with(|| Word {
            text: String::new(),
            is_dynamic: false,
        })
    }

    fn push(&mut self, c: char) {
        self.word().text.push(c);
    }

    fn mark_dynamic(&mut self) {
        self.word().is_dynamic = true;
    }

    fn end_word(&mut self) {
        if let Some(word) = self.word.take() {
            self.command.push(word);
        }
    }

    fn end_command(&mut self) {
        self.end_word();
        if !self.command.is_empty() {
            self.commands.push(std::mem::take(&mut self.command));
        }
    }

    fn skip_comment(&mut self) {
        while self.peek().is_some_and(|c| c != '\n') {
            self.position += 1;
        }
    }

    fn single_quoted(&mut self) -> Result<(), UnterminatedQuote> {
        self.word();
        loop {
            match self.next_char() {
                Some('\'') => return Ok(()),
                Some(c) => self.push(c),
                None => return Err(UnterminatedQuote),
            }
        }
    }

    fn double_quoted(&mut self) -> Result<(), UnterminatedQuote> {
        self.word();
        loop {
            match self.next_char() {
                Some('"') => return Ok(()),
                Some('\\') => match self.next_char() {
                    Some('\n') => {}
                    Some(c @ ('$' | '`' | '"' | '\\')) => self.push(c),
                    Some(c) => {
                        self.push('\\');
                        self.push(c);
                    }
                    None => return Err(UnterminatedQuote),
                },
                Some(c @ ('$' | '`')) => self.substitution(c)?,
                Some(c) => self.push(c),
                None => return Err(UnterminatedQuote),
            }
        }
    }

    /// `$name`, `${...}`, `$(...)` or `` `...` ``: kept as text, marked dynamic.
    fn substitution(&mut self, opener: char) -> Result<(), UnterminatedQuote> {
        self.push(opener);
        self.mark_dynamic();
        match (opener, self.peek()) {
            ('`', _) => self.copy_until_closer('`', '`'),
            ('$', Some('(')) => self.copy_until_closer('(', ')'),
            ('$', Some('{')) => self.copy_until_closer('{', '}'),
            _ => Ok(()),
        }
    }

    /// Copies text up to the `closer` that balances `opener`, skipping single-quoted parts.
    fn copy_until_closer(&mut self, opener: char, closer: char) -> Result<(), UnterminatedQuote> {
        let mut depth = 0usize;
        if opener != closer {
            // The opener itself has not been consumed yet.
            self.next_char();
            self.push(opener);
            depth = 1;
        }
        loop {
            let c = self.next_char().ok_or(UnterminatedQuote)?;
            self.push(c);
            if c == closer && (opener == closer || depth == 1) {
                return Ok(());
            }
            if c == opener {
                depth += 1;
            } else if c == closer {
                depth -= 1;
            } else if c == '\'' && opener != closer {
                self.single_quoted()?;
                self.push('\'');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(script: &str) -> Vec<Vec<String>> {
        simple_commands(script)
            .expect("script lexes")
            .into_iter()
            .map(|command| command.into_iter().map(|word| word.text).collect())
            .collect()
    }

    #[test]
    fn splits_on_operators_and_newlines() {
        assert_eq!(
            texts("a b && c || d; e\nf | g & h"),
            [
                vec!["a", "b"],
                vec!["c"],
                vec!["d"],
                vec!["e"],
                vec!["f"],
                vec!["g"],
                vec!["h"]
            ]
        );
    }

    #[test]
    fn removes_quotes_and_escapes() {
        assert_eq!(
            texts(
                r#"pip 'a b' "c\"d" e\ f 'x'"y"z '' 'typing-extensions>=3.7.4,<5; python_version<"3.9"'"#
            ),
            [vec![
                "pip",
                "a b",
                "c\"d",
                "e f",
                "xyz",
                "",
                "typing-extensions>=3.7.4,<5; python_version<\"3.9\""
            ]]
        );
    }

    #[test]
    fn line_continuations_and_comments() {
        assert_eq!(
            texts("pip install \\\n  six # a comment; not a command\nnext"),
            [vec!["pip", "install", "six"], vec!["next"]]
        );
        assert_eq!(texts("a#b"), [vec!["a#b"]]);
    }

    #[test]
    fn substitutions_are_kept_whole_and_marked() {
        let commands =
            simple_commands("if ! [ -x \"$(command -v pip)\" ]; then\n x=$(a; b) `c` ${d}\nfi")
                .expect("script lexes");
        let words: Vec<(&str, bool)> = commands
            .iter()
            .flatten()
            .map(|word| (word.text.as_str(), word.is_dynamic))
            .collect();
        assert_eq!(
            words,
            [
                ("if", false),
                ("!", false),
                ("[", false),
                ("-x", false),
                ("$(command -v pip)", true),
                ("]", false),
                ("then", false),
                ("x=$(a; b)", true),
                ("`c`", true),
                ("${d}", true),
                ("fi", false),
            ]
        );
    }

    #[test]
    fn redirections_are_dynamic() {
        let commands = simple_commands("pip install six >/dev/null").expect("script lexes");
        assert!(commands[0][3].is_dynamic);
    }

    #[test]
    fn unterminated_quotes_are_refused() {
        assert_eq!(simple_commands("pip 'six"), Err(UnterminatedQuote));
        assert_eq!(simple_commands("pip \"six"), Err(UnterminatedQuote));
        assert_eq!(simple_commands("x=$(pip"), Err(UnterminatedQuote));
    }
}

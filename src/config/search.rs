//! The language of full-text search (`--search-language`).

/// A PostgreSQL text search configuration (one of those built into every supported
/// PostgreSQL): the language words are stemmed in, for the index and the queries alike.
/// Named as PostgreSQL names them, and only these: the name goes into SQL.
///
/// On SQLite (FTS5) `english` uses the `porter` stemmer; every other language indexes words
/// as written (`unicode61`, case and diacritics folded), as `simple` does on PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[clap(rename_all = "lowercase")]
pub enum SearchLanguage {
    /// No stemming: words match as written (case folded).
    Simple,
    Arabic,
    Danish,
    Dutch,
    /// Stemmed English (the default): "running" finds "run".
    English,
    Finnish,
    French,
    German,
    Greek,
    Hungarian,
    Indonesian,
    Irish,
    Italian,
    Lithuanian,
    Nepali,
    Norwegian,
    Portuguese,
    Romanian,
    Russian,
    Spanish,
    Swedish,
    Tamil,
    Turkish,
}

impl SearchLanguage {
    /// The PostgreSQL configuration name.
    pub fn as_str(self) -> &'static str {
        use SearchLanguage::*;
        match self {
            Simple => "simple",
            Arabic => "arabic",
            Danish => "danish",
            Dutch => "dutch",
            English => "english",
            Finnish => "finnish",
            French => "french",
            German => "german",
            Greek => "greek",
            Hungarian => "hungarian",
            Indonesian => "indonesian",
            Irish => "irish",
            Italian => "italian",
            Lithuanian => "lithuanian",
            Nepali => "nepali",
            Norwegian => "norwegian",
            Portuguese => "portuguese",
            Romanian => "romanian",
            Russian => "russian",
            Spanish => "spanish",
            Swedish => "swedish",
            Tamil => "tamil",
            Turkish => "turkish",
        }
    }

    /// The FTS5 tokenizer standing in for it on SQLite.
    pub fn fts5_tokenizer(self) -> &'static str {
        match self {
            Self::English => "porter unicode61 remove_diacritics 2",
            _ => "unicode61 remove_diacritics 2",
        }
    }
}

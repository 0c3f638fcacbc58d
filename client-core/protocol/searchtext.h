// Search text rules shared by the server stores and client-core (PROTOCOL.md, Search):
// a word is a run of Unicode letters and digits (the Latin accents of U+0300..U+0331
// stay inside their word; other combining marks separate words, exactly as SQLite's
// unicode61 tokenizer does); matching ignores case and accents; each query word matches
// the words that start with it; all query words are required.
//
// SQLite's FTS5 (unicode61, remove_diacritics 2) applies the same rules on its own;
// this module is what the stores without FTS5 (DynamoDB) index and match with, what
// turns user input into a safe FTS5 expression, and what draws snippets.
#pragma once

#include <QList>
#include <QString>
#include <QStringList>
#include <QStringView>

namespace parley::protocol::search {

// Limits on a query: more words is a bad_request; longer words are cut (a prefix of
// a prefix still matches).
inline constexpr int MaxQueryWords = 16;
inline constexpr int MaxWordChars = 64;
// Snippets hold at most this many characters (QChar units), markers and ellipses included.
inline constexpr int SnippetChars = 160;

struct WordSpan
{
    qsizetype start = 0; // in the original text, QChar units
    qsizetype length = 0;
    QString folded; // case-folded, accents removed
};

// Case-folds and strips accents (NFD, combining marks dropped): "Déjà" -> "deja".
QString fold(QStringView word);
// Every word of text, in order, with where it is in the original.
QList<WordSpan> words(QStringView text);
// The folded query words: distinct, in order of first appearance, each at most
// MaxWordChars. Empty when q holds no letters or digits (quotes, stars, operators).
QStringList queryWords(QStringView q);
// The distinct folded words of a message body, in order of first appearance.
QStringList indexWords(QStringView body);
// True when every query word is a prefix of at least one of the indexed words.
bool matchesAll(const QStringList &indexedWords, const QStringList &query);
// A window of body (at most SnippetChars) around the first match, each matching word
// wrapped in '[' ']', '…' where the window cuts the body. The start of body when
// nothing matches.
QString snippet(QStringView body, const QStringList &query, int maxChars = SnippetChars);
// An FTS5 MATCH expression requiring every word as a prefix: "w1"* AND "w2"*, limited
// to one column when column is given ({body} : ...). Words only hold letters and
// digits, so nothing in them is FTS5 syntax.
QString fts5Expression(const QStringList &query, QStringView column = {});

} // namespace parley::protocol::search

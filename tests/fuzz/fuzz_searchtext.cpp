// libFuzzer harness: parley::protocol::search, which turns a search query into words
// (queryWords) and a message body into indexed words and snippets. The input is read
// as UTF-8 (invalid sequences replaced) and, raw, as UTF-16 (lone surrogates and all).
#include "fuzzsupport.h"
#include "searchtext.h"

#include <QSet>
#include <QString>

#include <cstring>

using parley::fuzz::check;
namespace search = parley::protocol::search;

namespace {

void checkText(QStringView text)
{
    const QList<search::WordSpan> spans = search::words(text);
    qsizetype end = 0;
    for (const search::WordSpan &w : spans) {
        check(w.start >= end && w.length > 0 && w.start + w.length <= text.size(),
            "a word span out of order or out of the text");
        check(!w.folded.isEmpty(), "an empty folded word");
        end = w.start + w.length;
    }

    const QStringList query = search::queryWords(text);
    check(query.size() <= spans.size(), "more query words than words");
    for (qsizetype i = 0; i < query.size(); ++i) {
        const QString &word = query.at(i);
        check(!word.isEmpty() && word.size() <= search::MaxWordChars, "a query word too long");
        check(!word.back().isHighSurrogate(), "a query word ends in half a surrogate pair");
        check(query.indexOf(word) == i, "a repeated query word");
    }
    const QStringList indexed = search::indexWords(text);
    check(indexed.size() == QSet<QString>(indexed.cbegin(), indexed.cend()).size(),
        "a repeated indexed word");
    // A message is found by its own words.
    check(search::matchesAll(indexed, query), "a text does not match its own query words");
    check(search::matchesAll(indexed, {}), "the empty query does not match");

    for (int maxChars : {search::SnippetChars, 24}) {
        const QString snippet = search::snippet(text, query, maxChars);
        check(snippet.size() <= maxChars, "a snippet longer than asked");
        if (!query.isEmpty() && !text.isEmpty())
            check(!snippet.isEmpty(), "an empty snippet of a matching text");
    }
    const QString expression = search::fts5Expression(query, u"body");
    check(query.isEmpty() || expression.startsWith(u"{body} : (\""), "a malformed FTS5 expression");
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    parley::fuzz::quietQt();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    if (size > 4096)
        return 0; // queries and bodies are bounded by the protocol long before this
    checkText(QString::fromUtf8(reinterpret_cast<const char *>(data), qsizetype(size)));
    QString utf16(qsizetype(size / 2), Qt::Uninitialized);
    std::memcpy(utf16.data(), data, (size / 2) * 2);
    checkText(utf16);
    return 0;
}

#include "searchtext.h"

#include <algorithm>

using namespace Qt::StringLiterals;

namespace parley::protocol::search {

namespace {

// Walks a string by code point (QStringIterator is private API).
class CodePoints
{
public:
    explicit CodePoints(QStringView text)
        : m_text(text)
    { }
    bool hasNext() const { return m_at < m_text.size(); }
    qsizetype index() const { return m_at; }
    char32_t next()
    {
        const QChar c = m_text.at(m_at++);
        if (c.isHighSurrogate() && m_at < m_text.size() && m_text.at(m_at).isLowSurrogate())
            return QChar::surrogateToUcs4(c, m_text.at(m_at++));
        return c.unicode();
    }

private:
    QStringView m_text;
    qsizetype m_at = 0;
};

// The combining marks SQLite's unicode61 tokenizer keeps inside a word when it removes
// diacritics (a subset of U+0300..U+0331, the common Latin accents); it then strips them.
// Every other mark (Devanagari vowel signs, Hebrew points, Thai vowels, ...) separates
// words there, so it does here: the stores must split words the same way FTS5 does,
// or a query word would never meet the indexed ones (tst_sqlitesearch checks the two
// agree for every mark of U+0300..U+036F and a sample of other scripts).
bool isFoldedDiacritic(char32_t c)
{
    if (c < 0x300 || c > 0x331)
        return false;
    constexpr quint32 Low = 0x08029FDF; // U+0300..U+031F
    constexpr quint32 High = 0x000361F8; // U+0320..U+0331
    return c < 0x320 ? (Low >> (c - 0x300)) & 1 : (High >> (c - 0x320)) & 1;
}

bool isWordChar(char32_t c)
{
    return QChar::isLetterOrNumber(c) || isFoldedDiacritic(c);
}

QString cut(QString word)
{
    if (word.size() <= MaxWordChars)
        return word;
    qsizetype end = MaxWordChars;
    if (word.at(end - 1).isHighSurrogate())
        --end; // never split a surrogate pair
    word.truncate(end);
    return word;
}

} // namespace

QString fold(QStringView word)
{
    const QString decomposed = word.toString().normalized(QString::NormalizationForm_D);
    QString out;
    out.reserve(decomposed.size());
    CodePoints it(decomposed);
    while (it.hasNext()) {
        const char32_t c = it.next();
        if (isFoldedDiacritic(c))
            continue;
        if (QChar::requiresSurrogates(c)) {
            out.append(QChar::highSurrogate(c));
            out.append(QChar::lowSurrogate(c));
        } else {
            out.append(QChar(char16_t(c)));
        }
    }
    // Marks of other scripts that a decomposition produced stay, recomposed.
    return out.normalized(QString::NormalizationForm_C).toCaseFolded();
}

QList<WordSpan> words(QStringView text)
{
    QList<WordSpan> out;
    CodePoints it(text);
    qsizetype start = -1;
    auto close = [&](qsizetype end) {
        if (start < 0)
            return;
        const QStringView word = text.mid(start, end - start);
        // A run of marks alone (no letter or digit before it) is not a word.
        bool hasBase = false;
        CodePoints w(word);
        while (w.hasNext() && !hasBase)
            hasBase = QChar::isLetterOrNumber(w.next());
        if (hasBase) {
            QString folded = fold(word);
            if (!folded.isEmpty())
                out.append({start, end - start, std::move(folded)});
        }
        start = -1;
    };
    while (it.hasNext()) {
        const qsizetype at = it.index();
        const char32_t c = it.next();
        if (isWordChar(c)) {
            if (start < 0)
                start = at;
        } else {
            close(at);
        }
    }
    close(text.size());
    return out;
}

QStringList queryWords(QStringView q)
{
    QStringList out;
    for (WordSpan &w : words(q)) {
        QString word = cut(std::move(w.folded));
        if (!out.contains(word))
            out.append(std::move(word));
    }
    return out;
}

QStringList indexWords(QStringView body)
{
    QStringList out;
    for (WordSpan &w : words(body)) {
        if (!out.contains(w.folded))
            out.append(std::move(w.folded));
    }
    return out;
}

bool matchesAll(const QStringList &indexedWords, const QStringList &query)
{
    for (const QString &q : query) {
        const bool found = std::any_of(indexedWords.cbegin(), indexedWords.cend(),
            [&q](const QString &word) { return word.startsWith(q); });
        if (!found)
            return false;
    }
    return true;
}

QString snippet(QStringView body, const QStringList &query, int maxChars)
{
    const QList<WordSpan> spans = words(body);
    auto matches = [&query](const WordSpan &w) {
        return std::any_of(query.cbegin(), query.cend(),
            [&w](const QString &q) { return w.folded.startsWith(q); });
    };
    qsizetype first = -1;
    for (qsizetype i = 0; i < spans.size(); ++i) {
        if (matches(spans.at(i))) {
            first = i;
            break;
        }
    }
    // Start a little before the first match, on a word boundary, so it has context.
    constexpr qsizetype Lead = 40;
    qsizetype from = 0;
    if (first > 0) {
        const qsizetype matchStart = spans.at(first).start;
        from = matchStart;
        for (qsizetype i = first - 1; i >= 0 && matchStart - spans.at(i).start <= Lead; --i)
            from = spans.at(i).start;
    }
    const QString ellipsis = u"…"_s;
    QString out;
    if (from > 0)
        out += ellipsis;
    qsizetype pos = from;
    auto room = [&](qsizetype extra) { return out.size() + extra <= maxChars - 1; };
    bool cutShort = false;
    for (const WordSpan &w : spans) {
        if (w.start < from)
            continue;
        const QStringView gap = body.mid(pos, w.start - pos);
        const bool mark = matches(w);
        const qsizetype need = gap.size() + w.length + (mark ? 2 : 0);
        if (!room(need)) {
            if (pos == from) {
                // One word longer than the whole snippet: show its beginning.
                qsizetype take = std::max<qsizetype>(0, maxChars - 1 - out.size());
                QStringView head = body.mid(pos, take);
                if (!head.isEmpty() && head.back().isHighSurrogate())
                    head.chop(1);
                out += head;
            }
            cutShort = true;
            break;
        }
        out += gap;
        if (mark)
            out += u'[';
        out += body.mid(w.start, w.length);
        if (mark)
            out += u']';
        pos = w.start + w.length;
    }
    if (!cutShort) {
        const QStringView tail = body.mid(pos);
        if (room(tail.size()))
            out += tail;
        else
            cutShort = true;
    }
    if (cutShort) {
        while (!out.isEmpty() && out.back().isSpace())
            out.chop(1);
        out += ellipsis;
    }
    return out;
}

QString fts5Expression(const QStringList &query, QStringView column)
{
    QStringList terms;
    terms.reserve(query.size());
    for (const QString &word : query)
        terms.append(u'"' + word + u"\"*"_s);
    QString expression = terms.join(u" AND "_s);
    if (!column.isEmpty())
        expression = u'{' + column.toString() + u"} : ("_s + expression + u')';
    return expression;
}

} // namespace parley::protocol::search

// The search text rules shared by the stores and client-core: words, folding,
// query words, matching, snippets and the FTS5 expression built from user input.
#include "searchtext.h"

#include <QTest>

using namespace Qt::StringLiterals;
namespace search = parley::protocol::search;

class TestSearchText : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void foldsCaseAndAccents_data()
    {
        QTest::addColumn<QString>("word");
        QTest::addColumn<QString>("folded");
        QTest::newRow("ascii") << u"Lunch"_s << u"lunch"_s;
        QTest::newRow("acute") << u"Café"_s << u"cafe"_s;
        QTest::newRow("decomposed") << u"Cafe\u0301"_s << u"cafe"_s;
        QTest::newRow("french") << u"DÉJÀ"_s << u"deja"_s;
        // Simple case folding, like FTS5 unicode61: ß stays ß.
        QTest::newRow("german") << u"STRAßE"_s << u"straße"_s;
        // Greek accents are not among the marks unicode61 strips: kept, as in FTS5.
        QTest::newRow("greek") << u"Ἀθῆναι"_s << u"ἀθῆναι"_s;
        QTest::newRow("turkish dotted") << u"İstanbul"_s << u"istanbul"_s;
    }
    void foldsCaseAndAccents()
    {
        QFETCH(QString, word);
        QFETCH(QString, folded);
        QCOMPARE(search::fold(word), folded);
    }

    void splitsWordsOnAnythingButLettersAndDigits()
    {
        const auto spans = search::words(u"Lunch @Friday, 12:30? l'été—ok 😀 x2"_s);
        QStringList folded;
        for (const auto &w : spans)
            folded.append(w.folded);
        QCOMPARE(folded,
            (QStringList {
                u"lunch"_s, u"friday"_s, u"12"_s, u"30"_s, u"l"_s, u"ete"_s, u"ok"_s, u"x2"_s}));
        QCOMPARE(spans.at(1).start, 7);
        QCOMPARE(spans.at(1).length, 6);
    }

    void otherScriptsMarksSeparateWordsLikeFts5_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QStringList>("words");
        // Devanagari vowel signs (Mc, Mn), Hebrew points, Thai vowels: separators, as in
        // SQLite's unicode61; a query of the same text yields the same pieces, so it finds it.
        QTest::newRow("hindi") << u"हिंदी"_s << QStringList {u"ह"_s, u"द"_s};
        QTest::newRow("hebrew") << u"שָׁלוֹם"_s << QStringList {u"ש"_s, u"לו"_s, u"ם"_s};
        QTest::newRow("thai") << u"สวัสดี"_s << QStringList {u"สว"_s, u"สด"_s};
        QTest::newRow("latin accents stay")
            << u"Crème brûlée"_s << QStringList {u"creme"_s, u"brulee"_s};
    }
    void otherScriptsMarksSeparateWordsLikeFts5()
    {
        QFETCH(QString, text);
        QFETCH(QStringList, words);
        QCOMPARE(search::indexWords(text), words);
        QCOMPARE(search::queryWords(text), words);
    }

    void keepsLettersOutsideTheBasicPlane()
    {
        // U+1D400 MATHEMATICAL BOLD CAPITAL A is a letter written as a surrogate pair.
        const QString text = u"a\U0001D400b c"_s;
        const auto spans = search::words(text);
        QCOMPARE(spans.size(), 2);
        QCOMPARE(spans.at(0).length, 4);
    }

    void queryWordsAreDistinctAndCut()
    {
        QCOMPARE(search::queryWords(u"  Lunch lunch LUNCH  friday"_s),
            (QStringList {u"lunch"_s, u"friday"_s}));
        QCOMPARE(search::queryWords(QString(100, u'a')).at(0).size(), search::MaxWordChars);
    }

    void hostileQueriesHaveNoWordsOrOnlyWords_data()
    {
        QTest::addColumn<QString>("q");
        QTest::addColumn<QStringList>("expected");
        QTest::newRow("empty") << QString() << QStringList {};
        QTest::newRow("spaces") << u"   "_s << QStringList {};
        QTest::newRow("quotes") << u"\"\"\""_s << QStringList {};
        QTest::newRow("star") << u"*"_s << QStringList {};
        QTest::newRow("operators") << u"AND OR NOT"_s << QStringList {u"and"_s, u"or"_s, u"not"_s};
        QTest::newRow("fts column") << u"body:lunch"_s << QStringList {u"body"_s, u"lunch"_s};
        QTest::newRow("near") << u"NEAR(a b)"_s << QStringList {u"near"_s, u"a"_s, u"b"_s};
        QTest::newRow("caret") << u"^lunch"_s << QStringList {u"lunch"_s};
        QTest::newRow("sql") << u"'; DROP TABLE messages; --"_s
                             << QStringList {u"drop"_s, u"table"_s, u"messages"_s};
        QTest::newRow("quoted") << u"\"lunch* friday\""_s << QStringList {u"lunch"_s, u"friday"_s};
    }
    void hostileQueriesHaveNoWordsOrOnlyWords()
    {
        QFETCH(QString, q);
        QFETCH(QStringList, expected);
        QCOMPARE(search::queryWords(q), expected);
    }

    void fts5ExpressionQuotesEveryWord()
    {
        QCOMPARE(search::fts5Expression({u"lunch"_s, u"fri"_s}), u"\"lunch\"* AND \"fri\"*"_s);
        QCOMPARE(search::fts5Expression({u"and"_s}, u"body"), u"{body} : (\"and\"*)"_s);
    }

    void matchesAllWordsAsPrefixes()
    {
        const QStringList indexed = search::indexWords(u"Lunch on Friday at the Café?"_s);
        QVERIFY(search::matchesAll(indexed, {u"lun"_s}));
        QVERIFY(search::matchesAll(indexed, {u"fri"_s, u"caf"_s}));
        QVERIFY(search::matchesAll(indexed, {u"cafe"_s}));
        QVERIFY(!search::matchesAll(indexed, {u"lunch"_s, u"dinner"_s}));
        QVERIFY(!search::matchesAll(indexed, {u"unch"_s})); // prefixes only
    }

    void snippetMarksMatchesInAWindow()
    {
        QCOMPARE(search::snippet(u"lunch on friday?"_s, {u"lunch"_s, u"fri"_s}),
            u"[lunch] on [friday]?"_s);
        QCOMPARE(search::snippet(u"Café au lait"_s, {u"cafe"_s}), u"[Café] au lait"_s);

        QString longBody;
        for (int i = 0; i < 100; ++i)
            longBody += u"word%1 "_s.arg(i);
        longBody += u"needle in the haystack"_s;
        for (int i = 0; i < 100; ++i)
            longBody += u" more%1"_s.arg(i);
        const QString s = search::snippet(longBody, {u"needle"_s});
        QVERIFY2(s.size() <= search::SnippetChars, qPrintable(s));
        QVERIFY(s.startsWith(u"…"_s));
        QVERIFY(s.endsWith(u"…"_s));
        QVERIFY(s.contains(u"[needle] in the haystack"_s));
        QVERIFY(s.contains(u"word99 "_s)); // some context before the match
    }

    void snippetOfAHugeWordIsCut()
    {
        const QString body = QString(1000, u'x');
        const QString s = search::snippet(body, {u"xx"_s});
        QCOMPARE(s.size(), search::SnippetChars);
        QVERIFY(s.endsWith(u"…"_s));
    }

    void snippetWithoutMatchIsTheStart()
    {
        QCOMPARE(search::snippet(u"hello there"_s, {u"zzz"_s}), u"hello there"_s);
    }
};

QTEST_APPLESS_MAIN(TestSearchText)
#include "tst_searchtext.moc"

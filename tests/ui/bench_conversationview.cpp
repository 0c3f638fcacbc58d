// How the conversation view copes with a long history: 100,000 messages of mixed
// lengths in the real model, view and delegate (offscreen). Prints numbers; asserts
// nothing about time.
//   bench_conversationview [--messages N] [--page 50]
#include "messagedelegate.h"
#include "messagemodel.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDateTime>
#include <QElapsedTimer>
#include <QListView>
#include <QScrollBar>

#include <algorithm>
#include <cstdio>

using namespace Qt::StringLiterals;
using parley::client::ChatMessage;
using parley::client::MessageState;

namespace {

ChatMessage message(qint64 seq, qint64 now)
{
    static const QString words = u"lorem ipsum dolor sit amet consectetur adipiscing elit sed do "
                                 u"eiusmod tempor incididunt ut labore et dolore magna aliqua "_s;
    ChatMessage m;
    m.conv = u"alice:bob"_s;
    m.seq = seq;
    m.cid = u"c"_s + QString::number(seq);
    m.outgoing = seq % 3 == 0;
    m.from = m.outgoing ? u"alice"_s : u"bob"_s;
    m.to = m.outgoing ? u"bob"_s : u"alice"_s;
    m.body = words.left(int(seq * 37 % words.size()) + 3).repeated(int(seq % 5) + 1);
    m.ts = now - (1000000 - seq) * 60000; // a minute apart: many days
    m.state = m.outgoing ? MessageState::Read : MessageState::Received;
    return m;
}

double ms(const QElapsedTimer &t)
{
    return double(t.nsecsElapsed()) / 1e6;
}

void settle()
{
    // Let the view run its delayed layout.
    for (int i = 0; i < 3; ++i)
        QCoreApplication::processEvents();
}

} // namespace

int main(int argc, char **argv)
{
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QCommandLineParser parser;
    const QCommandLineOption count(
        u"messages"_s, u"Messages in the history."_s, u"N"_s, u"100000"_s);
    const QCommandLineOption pageOption(u"page"_s, u"Messages per page."_s, u"N"_s, u"50"_s);
    parser.addHelpOption();
    parser.addOption(count);
    parser.addOption(pageOption);
    parser.process(app);
    const int total = parser.value(count).toInt();
    const int page = parser.value(pageOption).toInt();
    const qint64 now = QDateTime::currentMSecsSinceEpoch();

    parley::ui::MessageModel model;
    model.reset(u"alice:bob"_s, total, total);
    QListView view;
    auto *delegate = new parley::ui::MessageDelegate(&view);
    view.setItemDelegate(delegate);
    view.setVerticalScrollMode(QAbstractItemView::ScrollPerPixel);
    view.setModel(&model);
    view.resize(700, 800);
    view.show();

    std::printf("conversation view, %d messages, pages of %d (offscreen, 700x800)\n", total, page);
    std::printf("%-52s %10s %s\n", "step", "value", "unit");
    QElapsedTimer t;
    t.start();
    QList<ChatMessage> first;
    for (int seq = total - page + 1; seq <= total; ++seq)
        first.append(message(seq, now));
    model.addPage(first);
    view.scrollToBottom();
    settle();
    view.viewport()->repaint();
    std::printf(
        "%-52s %10.1f %s\n", "first screen (newest page, laid out and painted)", ms(t), "ms");

    // Scrolling up: each page goes in front, as the view asks for it.
    QList<double> prepends;
    int next = total - page;
    t.restart();
    while (next > 0) {
        QList<ChatMessage> older;
        for (int seq = std::max(1, next - page + 1); seq <= next; ++seq)
            older.append(message(seq, now));
        next -= page;
        QElapsedTimer one;
        one.start();
        model.addPage(older);
        settle();
        view.verticalScrollBar()->setValue(view.verticalScrollBar()->value() - 400);
        view.viewport()->repaint();
        prepends.append(ms(one));
    }
    std::sort(prepends.begin(), prepends.end());
    auto pct = [&prepends](double p) { return prepends.at(int(p * (prepends.size() - 1))); };
    std::printf("%-52s %10.1f %s\n", "load every page by scrolling up (total)", ms(t) / 1000, "s");
    std::printf(
        "%-52s %10.1f %s\n", "one page put in front + relayout + paint, p50", pct(0.5), "ms");
    std::printf(
        "%-52s %10.1f %s\n", "one page put in front + relayout + paint, p90", pct(0.9), "ms");
    std::printf(
        "%-52s %10.1f %s\n", "one page put in front + relayout + paint, max", pct(1.0), "ms");

    // With everything loaded: scrolling by a screen at a time through the whole history.
    QScrollBar *bar = view.verticalScrollBar();
    QList<double> frames;
    bar->setValue(bar->maximum());
    for (int value = bar->maximum(); value > 0; value -= bar->pageStep() * 50) {
        QElapsedTimer one;
        one.start();
        bar->setValue(value);
        view.viewport()->repaint();
        frames.append(ms(one));
    }
    std::sort(frames.begin(), frames.end());
    std::printf("%-52s %10.2f %s\n", "scroll + paint one screen, everything loaded, p50",
        frames.at(frames.size() / 2), "ms");
    std::printf("%-52s %10.2f %s\n", "scroll + paint one screen, everything loaded, max",
        frames.last(), "ms");
    std::printf(
        "%-52s %10d %s\n", "bubble sizes measured (cached)", delegate->cachedSizeCount(), "");
    return 0;
}

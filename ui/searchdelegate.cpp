#include "searchdelegate.h"

#include "conversationdelegate.h"
#include "searchresultmodel.h"

#include <QApplication>
#include <QDateTime>
#include <QPainter>
#include <QTextLayout>

using namespace Qt::StringLiterals;

namespace parley::ui {

namespace {

QList<QTextLayout::FormatRange> emphasis(
    const QList<MatchSpan> &matches, qsizetype length, const QColor &tint)
{
    QList<QTextLayout::FormatRange> ranges;
    for (const MatchSpan &m : matches) {
        if (m.start + m.length > length)
            break;
        QTextLayout::FormatRange range;
        range.start = m.start;
        range.length = m.length;
        range.format.setFontWeight(QFont::Bold);
        if (tint.isValid())
            range.format.setBackground(tint);
        else
            range.format.setFontUnderline(true);
        ranges.append(range);
    }
    return ranges;
}

// Draws text on one line in rect with the matches emphasised, cut with "…" at the
// width of the text as drawn (bold words are wider).
void drawEmphasised(QPainter *painter, const QRect &rect, const QString &text,
    const QList<MatchSpan> &matches, const QFont &font, const QColor &tint)
{
    QTextOption option;
    option.setWrapMode(QTextOption::NoWrap);
    QString shown = text;
    QTextLayout layout(shown, font);
    layout.setTextOption(option);
    layout.setFormats(emphasis(matches, shown.size(), tint));
    layout.beginLayout();
    QTextLine line = layout.createLine();
    line.setLineWidth(rect.width());
    layout.endLayout();
    if (line.naturalTextWidth() > rect.width()) {
        const QString ellipsis = u"…"_s;
        const int room = rect.width() - QFontMetrics(font).horizontalAdvance(ellipsis) * 2;
        shown = text.left(line.xToCursor(std::max(0, room))) + ellipsis;
        layout.setText(shown);
        layout.setFormats(emphasis(matches, shown.size() - 1, tint));
        layout.beginLayout();
        line = layout.createLine();
        line.setLineWidth(rect.width());
        layout.endLayout();
    }
    const qreal y = rect.top() + (rect.height() - line.height()) / 2;
    layout.draw(painter, QPointF(rect.left(), y));
}

} // namespace

QSize SearchDelegate::sizeHint(const QStyleOptionViewItem &option, const QModelIndex &) const
{
    const int line = option.fontMetrics.height();
    return QSize(line * 14, line * 3);
}

void SearchDelegate::paint(
    QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    const QPalette &pal = option.palette;
    const bool selected = option.state & QStyle::State_Selected;
    painter->save();
    painter->setRenderHint(QPainter::Antialiasing);

    paintRowBackground(painter, option);
    const QString peer = index.data(SearchResultModel::PeerRole).toString();
    const QRect avatarRect = paintAvatar(painter, option, peer);

    const auto [top, bottom, ink, faint, small] = paintRowHeader(
        painter, option, avatarRect, peer, index.data(SearchResultModel::TimeRole).toDateTime());

    // "You: " or "bob: ", then the text with its matches.
    const QString sender = tr("%1: ").arg(index.data(SearchResultModel::SenderRole).toString());
    const QFontMetrics smallMetrics(small);
    const int senderWidth
        = std::min(smallMetrics.horizontalAdvance(sender) + 1, bottom.width() / 3);
    painter->setFont(small);
    painter->setPen(faint);
    painter->drawText(QRect(bottom.left(), bottom.top(), senderWidth, bottom.height()),
        Qt::AlignLeft | Qt::AlignVCenter,
        smallMetrics.horizontalAdvance(sender) < senderWidth
            ? sender
            : smallMetrics.elidedText(sender, Qt::ElideRight, senderWidth));
    // On a selected row the accent colour is the background: underline instead of tint.
    QColor tint = pal.color(QPalette::Highlight);
    tint.setAlphaF(0.3f);
    painter->setPen(ink);
    drawEmphasised(painter, bottom.adjusted(senderWidth, 0, 0, 0),
        index.data(Qt::DisplayRole).toString(),
        index.data(SearchResultModel::MatchesRole).value<QList<MatchSpan>>(), small,
        selected ? QColor() : tint);
    painter->restore();
}

} // namespace parley::ui

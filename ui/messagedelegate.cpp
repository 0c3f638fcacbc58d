#include "messagedelegate.h"

#include "conversationdelegate.h"
#include "messagemodel.h"

#include <QAbstractItemView>
#include <QApplication>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QTextLayout>

using namespace Qt::StringLiterals;
using parley::client::MessageState;

namespace parley::ui {

namespace {

// Sizes in units of the font's line height, so they follow the user's font and DPI.
struct Metrics
{
    explicit Metrics(const QFontMetrics &fm)
        : line(fm.height())
        , pad(std::max(4, line / 2))
        , gap(std::max(2, line / 4))
        , radius(std::max(6, line * 2 / 3))
    { }
    int line;
    int pad;
    int gap;
    int radius;
};

QFont smallFont(const QFont &base)
{
    QFont font = base;
    font.setPointSizeF(base.pointSizeF() > 0 ? base.pointSizeF() * 0.85 : 8);
    return font;
}

// Lays the body out in the given width, wrapping at words (or inside a word too long
// for a line); returns the height and the widest line.
QSize layoutBody(QTextLayout &text, int width)
{
    QTextOption option;
    option.setWrapMode(QTextOption::WrapAtWordBoundaryOrAnywhere);
    text.setTextOption(option);
    text.setCacheEnabled(true);
    text.beginLayout();
    qreal y = 0;
    qreal widest = 0;
    for (QTextLine line = text.createLine(); line.isValid(); line = text.createLine()) {
        line.setLineWidth(width);
        line.setPosition(QPointF(0, y));
        y += line.height();
        widest = std::max(widest, line.naturalTextWidth());
    }
    text.endLayout();
    return QSize(int(std::ceil(widest)), int(std::ceil(y)));
}

QString dayText(const QDate &day)
{
    const QDate today = QDate::currentDate();
    if (day == today)
        return MessageDelegate::tr("Today");
    if (day == today.addDays(-1))
        return MessageDelegate::tr("Yesterday");
    return QLocale().toString(day, QLocale::LongFormat);
}

QString stateText(MessageState state)
{
    switch (state) {
    case MessageState::Queued:
        return MessageDelegate::tr("Queued");
    case MessageState::Sending:
        return MessageDelegate::tr("Sending…");
    case MessageState::Sent:
        return MessageDelegate::tr("✓ Sent");
    case MessageState::Delivered:
        return MessageDelegate::tr("✓✓ Delivered");
    case MessageState::Read:
        return MessageDelegate::tr("✓✓ Read");
    case MessageState::Failed:
        return MessageDelegate::tr("Not sent");
    case MessageState::Received:
        break;
    }
    return {};
}

} // namespace

QString messageFooterText(const QModelIndex &index)
{
    const QString time = clockText(index.data(MessageModel::TimeRole).toDateTime().time());
    if (!index.data(MessageModel::OutgoingRole).toBool())
        return time;
    return time + u"  "_s + stateText(MessageState(index.data(MessageModel::StateRole).toInt()));
}

struct MessageDelegate::Layout
{
    QRect day; // the day header, empty when none
    QRect bubble;
    QPoint textOrigin;
    QRect footer;
    QRect failure; // the failure line, empty unless failed
    QRect retry;
    QRect remove;
    int height = 0;
};

MessageDelegate::MessageDelegate(QObject *parent)
    : QStyledItemDelegate(parent)
{ }

MessageDelegate::Layout MessageDelegate::layout(
    const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    const Metrics m(option.fontMetrics);
    const QFontMetrics small(smallFont(option.font));
    const bool outgoing = index.data(MessageModel::OutgoingRole).toBool();
    const bool failed
        = MessageState(index.data(MessageModel::StateRole).toInt()) == MessageState::Failed;
    const QRect area = option.rect.adjusted(m.line, 0, -m.line, 0);
    const int maxBubble = std::min(area.width() * 3 / 4, m.line * 28);
    const int maxText = std::max(m.line * 4, maxBubble - 2 * m.pad);

    Layout l;
    int y = option.rect.top() + m.gap;
    if (index.data(MessageModel::ShowDayRole).toBool()) {
        l.day = QRect(area.left(), y + m.gap, area.width(), small.height() + m.pad);
        y = l.day.bottom() + 1 + m.pad;
    }
    QTextLayout text(index.data(Qt::DisplayRole).toString(), option.font);
    const QSize body = layoutBody(text, maxText);
    const QString footer = messageFooterText(index);
    int contentWidth = std::max(body.width(), small.horizontalAdvance(footer));
    int contentHeight = body.height() + m.gap + small.height();
    QString failure;
    if (failed) {
        failure = index.data(MessageModel::FailureRole).toString();
        const int actions
            = small.horizontalAdvance(tr("Retry")) + m.line + small.horizontalAdvance(tr("Delete"));
        contentWidth = std::max(
            contentWidth, std::min(maxText, std::max(actions, small.horizontalAdvance(failure))));
        contentHeight += 2 * (small.height() + m.gap);
    }
    contentWidth = std::min(contentWidth, maxText);
    const int bubbleWidth = contentWidth + 2 * m.pad;
    const int left = outgoing ? area.right() - bubbleWidth + 1 : area.left();
    l.bubble = QRect(left, y, bubbleWidth, contentHeight + 2 * m.pad);
    l.textOrigin = QPoint(left + m.pad, y + m.pad);
    int line = y + m.pad + body.height() + m.gap;
    l.footer = QRect(left + m.pad, line, contentWidth, small.height());
    if (failed) {
        line += small.height() + m.gap;
        l.failure = QRect(left + m.pad, line, contentWidth, small.height());
        line += small.height() + m.gap;
        l.retry = QRect(left + m.pad, line, small.horizontalAdvance(tr("Retry")), small.height());
        l.remove = QRect(
            l.retry.right() + m.line, line, small.horizontalAdvance(tr("Delete")), small.height());
    }
    l.height = l.bubble.bottom() + 1 + m.gap - option.rect.top();
    return l;
}

QSize MessageDelegate::sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    // Keyed by the message; the width, the day header and the state (a failed message
    // has two more lines) are checked.
    const QString cid = index.data(MessageModel::CidRole).toString();
    const QString key = cid.isEmpty()
        ? u"#"_s + QString::number(index.data(MessageModel::SeqRole).toLongLong())
        : cid;
    const bool dayHeader = index.data(MessageModel::ShowDayRole).toBool();
    const int state = index.data(MessageModel::StateRole).toInt();
    // Bubbles take the view's width (the option's rect is not set when measuring).
    const auto *view = qobject_cast<const QAbstractItemView *>(option.widget);
    const int width = view ? view->viewport()->width() : option.rect.width();
    const auto it = m_sizes.constFind(key);
    if (it != m_sizes.cend() && it->width == width && it->dayHeader == dayHeader
        && it->state == state)
        return it->size;
    QStyleOptionViewItem opt = option;
    opt.rect = QRect(0, 0, width, 0);
    const QSize size(width, layout(opt, index).height);
    m_sizes.insert(key, CachedSize {width, dayHeader, state, size});
    return size;
}

void MessageDelegate::paint(
    QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    const Layout l = layout(option, index);
    const Metrics m(option.fontMetrics);
    const QPalette &pal = option.palette;
    const QFont small = smallFont(option.font);
    const bool outgoing = index.data(MessageModel::OutgoingRole).toBool();
    const auto state = MessageState(index.data(MessageModel::StateRole).toInt());
    painter->save();
    painter->setRenderHint(QPainter::Antialiasing);

    if (!l.day.isNull()) {
        painter->setFont(small);
        const QString text = dayText(index.data(MessageModel::DayRole).toDate());
        const int w = QFontMetrics(small).horizontalAdvance(text) + 2 * m.pad;
        const QRect pill(l.day.center().x() - w / 2, l.day.top(), w, l.day.height());
        painter->setPen(Qt::NoPen);
        painter->setBrush(pal.color(QPalette::Base));
        painter->drawRoundedRect(pill, pill.height() / 2.0, pill.height() / 2.0);
        painter->setPen(pal.color(QPalette::PlaceholderText));
        painter->drawText(pill, Qt::AlignCenter, text);
    }

    if (index.data(MessageModel::HighlightRole).toBool()) {
        // The message a search opened at: a band across the row, for a moment.
        QColor band = pal.color(QPalette::Highlight);
        band.setAlphaF(0.3f);
        painter->setPen(Qt::NoPen);
        painter->setBrush(band);
        painter->drawRect(QRect(option.rect.left(), l.bubble.top() - m.gap, option.rect.width(),
            l.bubble.height() + 2 * m.gap));
    }

    const QColor fill = outgoing ? pal.color(QPalette::Highlight) : pal.color(QPalette::Base);
    const QColor ink = outgoing ? pal.color(QPalette::HighlightedText) : pal.color(QPalette::Text);
    QColor faint = ink;
    faint.setAlphaF(0.7f);
    painter->setPen(outgoing ? Qt::NoPen : QPen(pal.color(QPalette::Mid), 0.5));
    painter->setBrush(fill);
    painter->drawRoundedRect(QRectF(l.bubble).adjusted(0.5, 0.5, -0.5, -0.5), m.radius, m.radius);
    if (option.state & QStyle::State_HasFocus) {
        painter->setPen(QPen(pal.color(QPalette::Highlight).darker(140), 2));
        painter->setBrush(Qt::NoBrush);
        painter->drawRoundedRect(QRectF(l.bubble).adjusted(-2, -2, 2, 2), m.radius, m.radius);
    }

    QTextLayout text(index.data(Qt::DisplayRole).toString(), option.font);
    layoutBody(text, l.footer.width());
    painter->setPen(ink);
    text.draw(painter, l.textOrigin);

    painter->setFont(small);
    painter->setPen(faint);
    painter->drawText(l.footer, Qt::AlignRight | Qt::AlignVCenter, messageFooterText(index));
    if (state == MessageState::Failed) {
        const QColor alert = outgoing ? pal.color(QPalette::HighlightedText) : QColor(0xc0392b);
        painter->setPen(alert);
        painter->drawText(l.failure, Qt::AlignLeft | Qt::AlignVCenter,
            QFontMetrics(small).elidedText(index.data(MessageModel::FailureRole).toString(),
                Qt::ElideRight, l.failure.width()));
        QFont link = small;
        link.setUnderline(true);
        link.setBold(true);
        painter->setFont(link);
        painter->drawText(l.retry, Qt::AlignLeft | Qt::AlignVCenter, tr("Retry"));
        painter->drawText(l.remove, Qt::AlignLeft | Qt::AlignVCenter, tr("Delete"));
    }
    painter->restore();
}

MessageDelegate::Action MessageDelegate::actionAt(
    const QStyleOptionViewItem &option, const QModelIndex &index, const QPoint &pos) const
{
    if (MessageState(index.data(MessageModel::StateRole).toInt()) != MessageState::Failed)
        return Action::None;
    const Layout l = layout(option, index);
    // A little slack around the words: they are small targets.
    if (l.retry.adjusted(-4, -4, 4, 4).contains(pos))
        return Action::Retry;
    if (l.remove.adjusted(-4, -4, 4, 4).contains(pos))
        return Action::Delete;
    return Action::None;
}

bool MessageDelegate::editorEvent(QEvent *event, QAbstractItemModel *model,
    const QStyleOptionViewItem &option, const QModelIndex &index)
{
    if (event->type() == QEvent::MouseButtonRelease) {
        const auto *mouse = static_cast<QMouseEvent *>(event);
        const QString cid = index.data(MessageModel::CidRole).toString();
        switch (actionAt(option, index, mouse->position().toPoint())) {
        case Action::Retry:
            Q_EMIT retryRequested(cid);
            return true;
        case Action::Delete:
            Q_EMIT deleteRequested(cid);
            return true;
        case Action::None:
            break;
        }
    }
    return QStyledItemDelegate::editorEvent(event, model, option, index);
}

} // namespace parley::ui

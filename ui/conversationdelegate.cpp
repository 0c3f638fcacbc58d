#include "conversationdelegate.h"

#include "conversationlistmodel.h"

#include <QApplication>
#include <QDateTime>
#include <QPainter>

using namespace Qt::StringLiterals;

namespace parley::ui {

QColor avatarColor(const QString &name)
{
    // Not qHash: its seed changes from run to run, and a person's colour should not.
    uint hash = 0;
    for (const QChar c : name)
        hash = hash * 31 + c.unicode();
    // Multiplicative hashing spreads similar names over the whole colour wheel.
    const int hue = int(((hash * 2654435761u) >> 8) % 360);
    return QColor::fromHsl(hue, 140, 110);
}

void paintRowBackground(QPainter *painter, const QStyleOptionViewItem &option)
{
    // The style's selection and hover, so it matches the platform.
    QStyleOptionViewItem background = option;
    background.text.clear();
    background.icon = {};
    const QWidget *widget = option.widget;
    QStyle *style = widget ? widget->style() : QApplication::style();
    style->drawPrimitive(QStyle::PE_PanelItemViewItem, &background, painter, widget);
}

QRect paintAvatar(QPainter *painter, const QStyleOptionViewItem &option, const QString &name)
{
    const int line = option.fontMetrics.height();
    const int avatar = line * 2;
    const QRect rect(option.rect.left() + line / 2,
        option.rect.top() + (option.rect.height() - avatar) / 2, avatar, avatar);
    painter->save();
    painter->setRenderHint(QPainter::Antialiasing);
    // A thin ring keeps the avatar apart from a selection of a similar colour.
    const bool selected = option.state & QStyle::State_Selected;
    painter->setPen(
        selected ? QPen(option.palette.color(QPalette::HighlightedText), 1.5) : QPen(Qt::NoPen));
    painter->setBrush(avatarColor(name));
    painter->drawEllipse(rect);
    QFont initialFont = option.font;
    initialFont.setBold(true);
    initialFont.setPointSizeF(option.font.pointSizeF() * 1.2);
    painter->setFont(initialFont);
    painter->setPen(Qt::white);
    painter->drawText(rect, Qt::AlignCenter, name.left(1).toUpper());
    painter->restore();
    return rect;
}

RowText paintRowHeader(QPainter *painter, const QStyleOptionViewItem &option, const QRect &avatar,
    const QString &name, const QDateTime &time)
{
    const int pad = option.fontMetrics.height() / 2;
    RowText row;
    row.ink = option.palette.color(
        option.state & QStyle::State_Selected ? QPalette::HighlightedText : QPalette::Text);
    row.faint = row.ink;
    row.faint.setAlphaF(0.65f);
    const int textLeft = avatar.right() + pad + 2;
    const QRect text(textLeft, option.rect.top() + pad / 2, option.rect.right() - pad - textLeft,
        option.rect.height() - pad);
    row.top = QRect(text.left(), text.top(), text.width(), text.height() / 2);
    row.bottom
        = QRect(text.left(), row.top.bottom() + 1, text.width(), text.height() - row.top.height());

    row.small = option.font;
    row.small.setPointSizeF(option.font.pointSizeF() * 0.9);
    const QString timeText = shortTimeText(time);
    painter->setFont(row.small);
    const int timeWidth = QFontMetrics(row.small).horizontalAdvance(timeText);
    painter->setPen(row.faint);
    painter->drawText(row.top, Qt::AlignRight | Qt::AlignVCenter, timeText);

    QFont bold = option.font;
    bold.setBold(true);
    painter->setFont(bold);
    painter->setPen(row.ink);
    painter->drawText(row.top.adjusted(0, 0, -timeWidth - pad, 0), Qt::AlignLeft | Qt::AlignVCenter,
        QFontMetrics(bold).elidedText(name, Qt::ElideRight, row.top.width() - timeWidth - pad));
    return row;
}

QString clockText(const QTime &time)
{
    // Some locales' short format (C, for one) still has seconds.
    QString format = QLocale().timeFormat(QLocale::ShortFormat);
    format.remove(u":ss"_s).remove(u".ss"_s);
    return QLocale().toString(time, format);
}

QString shortTimeText(const QDateTime &time)
{
    if (!time.isValid())
        return {};
    const QDate today = QDate::currentDate();
    const QDate day = time.date();
    if (day == today)
        return clockText(time.time());
    if (day == today.addDays(-1))
        return ConversationDelegate::tr("Yesterday");
    if (day > today.addDays(-7))
        return QLocale().dayName(day.dayOfWeek(), QLocale::ShortFormat);
    return QLocale().toString(day, QLocale::ShortFormat);
}

QSize ConversationDelegate::sizeHint(const QStyleOptionViewItem &option, const QModelIndex &) const
{
    const int line = option.fontMetrics.height();
    return QSize(line * 14, line * 2 + line);
}

void ConversationDelegate::paint(
    QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    const int line = option.fontMetrics.height();
    const int pad = line / 2;
    const QPalette &pal = option.palette;
    const bool selected = option.state & QStyle::State_Selected;
    painter->save();
    painter->setRenderHint(QPainter::Antialiasing);

    paintRowBackground(painter, option);
    const QString peer = index.data(ConversationListModel::PeerRole).toString();
    const QRect avatarRect = paintAvatar(painter, option, peer);

    // Presence: a green dot when online, a hollow one when not.
    const int dot = std::max(8, line / 2);
    const QRect dotRect(avatarRect.right() - dot + 2, avatarRect.bottom() - dot + 2, dot, dot);
    const bool online = index.data(ConversationListModel::OnlineRole).toBool();
    painter->setPen(QPen(selected ? pal.color(QPalette::Highlight) : pal.color(QPalette::Base), 2));
    painter->setBrush(online ? QColor(0x2e, 0xa0, 0x43) : pal.color(QPalette::Mid));
    painter->drawEllipse(dotRect);

    const auto [top, bottom, ink, faint, small] = paintRowHeader(painter, option, avatarRect, peer,
        index.data(ConversationListModel::TimeRole).toDateTime());

    const int unread = index.data(ConversationListModel::UnreadRole).toInt();

    int badgeWidth = 0;
    if (unread > 0) {
        QFont badgeFont = small;
        badgeFont.setBold(true);
        const QString count = unread > 999 ? u"999+"_s : QString::number(unread);
        const int h = QFontMetrics(badgeFont).height() + 2;
        badgeWidth = std::max(h, QFontMetrics(badgeFont).horizontalAdvance(count) + h / 2 + 4);
        const QRect badge(
            bottom.right() - badgeWidth + 1, bottom.center().y() - h / 2, badgeWidth, h);
        painter->setPen(Qt::NoPen);
        painter->setBrush(
            selected ? pal.color(QPalette::HighlightedText) : pal.color(QPalette::Highlight));
        painter->drawRoundedRect(badge, h / 2.0, h / 2.0);
        painter->setFont(badgeFont);
        painter->setPen(
            selected ? pal.color(QPalette::Highlight) : pal.color(QPalette::HighlightedText));
        painter->drawText(badge, Qt::AlignCenter, count);
    }

    const bool typing = index.data(ConversationListModel::TypingRole).toBool();
    QFont previewFont = small;
    previewFont.setItalic(typing);
    previewFont.setBold(unread > 0 && !typing);
    painter->setFont(previewFont);
    painter->setPen(typing && !selected ? pal.color(QPalette::Highlight) : faint);
    const QString preview = typing
        ? tr("typing…")
        : index.data(ConversationListModel::PreviewRole).toString().simplified();
    const int previewWidth = bottom.width() - (badgeWidth ? badgeWidth + pad : 0);
    painter->drawText(QRect(bottom.left(), bottom.top(), previewWidth, bottom.height()),
        Qt::AlignLeft | Qt::AlignVCenter,
        QFontMetrics(previewFont).elidedText(preview, Qt::ElideRight, previewWidth));
    painter->restore();
}

} // namespace parley::ui

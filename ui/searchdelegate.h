// Paints one search hit: the peer's avatar, the conversation's peer and the message's
// time on the first line; the sender and the text on the second, the words the query
// matched in bold on a tint of the accent colour. Every row is two lines high.
#pragma once

#include <QStyledItemDelegate>

namespace parley::ui {

class SearchDelegate : public QStyledItemDelegate
{
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;

    void paint(QPainter *painter, const QStyleOptionViewItem &option,
        const QModelIndex &index) const override;
    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const override;
};

} // namespace parley::ui

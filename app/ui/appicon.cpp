#include "appicon.h"

#include <QPainter>
#include <QPainterPath>
#include <QPixmap>

namespace parley::ui {

QIcon appIcon()
{
    QIcon icon;
    for (const int size : {16, 24, 32, 48, 64, 128, 256}) {
        QPixmap pixmap(size, size);
        pixmap.fill(Qt::transparent);
        QPainter p(&pixmap);
        p.setRenderHint(QPainter::Antialiasing);
        const qreal s = size;
        // A speech bubble with a tail, and three dots of conversation.
        QPainterPath bubble;
        bubble.addRoundedRect(QRectF(s * 0.06, s * 0.1, s * 0.88, s * 0.64), s * 0.2, s * 0.2);
        QPainterPath tail;
        tail.moveTo(s * 0.26, s * 0.66);
        tail.lineTo(s * 0.2, s * 0.92);
        tail.lineTo(s * 0.48, s * 0.7);
        tail.closeSubpath();
        p.setPen(Qt::NoPen);
        p.setBrush(QColor(0x2b, 0x7a, 0xd9));
        p.drawPath(bubble.united(tail));
        p.setBrush(Qt::white);
        for (const qreal x : {0.3, 0.5, 0.7})
            p.drawEllipse(QPointF(s * x, s * 0.42), s * 0.065, s * 0.065);
        p.end();
        icon.addPixmap(pixmap);
    }
    return icon;
}

} // namespace parley::ui

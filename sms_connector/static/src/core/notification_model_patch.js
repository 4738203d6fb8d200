import { Notification } from "@mail/core/common/notification_model";
import { patch } from "@web/core/utils/patch";

/**
 * An SMS refused by one of our gateways: show the gateway's reason ("Authenticate",
 * "Invalid 'To' number"...) instead of Odoo's IAP wording ("Unregistered Account").
 */
patch(Notification.prototype, {
    get failureMessage() {
        if (this.notification_type === "sms" && this.sms_connector_gateway_id && this.failure_reason) {
            return this.failure_reason;
        }
        return super.failureMessage;
    },
});

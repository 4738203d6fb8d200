from . import (
    account_move,
    crm_lead,
    res_partner,
    sale_order,
    sms_delivery_report,
    sms_gateway,
    sms_gateway_sender,
    sms_message,
    sms_message_source_mixin,
    sms_sms,
)

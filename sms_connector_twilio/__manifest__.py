{
    'name': 'SMS Connector - Twilio',
    'version': '19.0.1.0.3',
    'summary': 'Send and track SMS through your Twilio account',
    'category': 'Marketing/SMS',
    'author': 'SMS Connector contributors',
    'website': 'https://github.com/sms-connector/odoo-sms-connector',
    'license': 'LGPL-3',
    'maintainers': ['sms-connector'],
    'development_status': 'Beta',
    'depends': ['sms_connector'],
    'external_dependencies': {'python': ['twilio']},
    'data': [
        'views/sms_gateway_views.xml',
    ],
    'demo': [
        'demo/sms_gateway_demo.xml',
    ],
    'installable': True,
}

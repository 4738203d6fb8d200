{
    'name': 'SMS Connector - Octopush',
    'version': '19.0.1.0.3',
    'summary': 'Send and track SMS through your Octopush account (API v1)',
    'category': 'Marketing/SMS',
    'author': 'SMS Connector contributors',
    'website': 'https://github.com/sms-connector/odoo-sms-connector',
    'license': 'LGPL-3',
    'maintainers': ['sms-connector'],
    'development_status': 'Beta',
    'depends': ['sms_connector'],
    'external_dependencies': {'python': ['requests']},
    'data': [
        'views/sms_gateway_views.xml',
    ],
    'demo': [
        'demo/sms_gateway_demo.xml',
    ],
    'installable': True,
}

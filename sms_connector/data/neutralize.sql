-- a copy of the database (staging, tests) must not text customers nor accept the production
-- provider's callbacks: deactivate the gateways and change their webhook URLs' secret token
UPDATE sms_gateway
   SET active = false,
       webhook_token = replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');

-- reactivating a gateway on a copy must not send real SMS: Octopush refuses this api-key
UPDATE sms_gateway
   SET secret = 'dummy-api-key'
 WHERE provider = 'octopush';

-- reactivating a gateway on a copy must not send real SMS: Twilio refuses this auth token
UPDATE sms_gateway
   SET secret = 'dummytoken'
 WHERE provider = 'twilio';

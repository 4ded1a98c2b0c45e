DROP TABLE sandbox_payment_methods;
DROP TABLE sandbox_customers;
DROP TABLE rewards_transactions;
DROP TABLE rewards_accounts;
DROP TABLE payment_methods;
DROP TABLE payment_customers;

DROP TABLE sla_policy_set;

"""Test support: real throwaway servers (PostgreSQL) and helpers shared by test folders."""
